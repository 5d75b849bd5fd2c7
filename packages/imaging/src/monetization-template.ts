import type { ImageStatistics } from './image-statistics.ts';

/**
 * The rule-based half of the local analyzer: turns measured statistics (and the prompt, if any)
 * into prose, tags and monetization suggestions. A template, not a model — every sentence follows
 * from a number in {@link ImageStatistics}.
 */
export interface TemplateResult {
  summary: string;
  compositionDescription: string;
  tags: string[];
  suggestedUses: string[];
  platforms: string[];
  pricingIdeas: string[];
}

const STOP_WORDS = new Set(
  'a an the of and or with in on at to for from by over under into onto its it is are be this that these those very some any my your our their his her as near'.split(
    ' ',
  ),
);

function promptKeywords(prompt: string | undefined): string[] {
  if (prompt === undefined) return [];
  const seen = new Set<string>();
  for (const word of prompt.toLowerCase().match(/[a-z][a-z-]{2,}/g) ?? []) {
    if (!STOP_WORDS.has(word)) seen.add(word);
    if (seen.size >= 8) break;
  }
  return [...seen];
}

export function describeComposition(stats: ImageStatistics): string {
  const { layout, centerOfMass, symmetry, detail } = stats.composition;
  const where = `${Math.round(centerOfMass.x * 100)}% across, ${Math.round(centerOfMass.y * 100)}% down`;
  const base = {
    centered: `visual weight is centred (${where}), a calm, symmetrical-feeling layout`,
    rule_of_thirds: `visual weight sits near a rule-of-thirds point (${where}), a classic photographic balance`,
    balanced: `visual weight is close to the centre (${where}), a balanced layout`,
    off_center: `visual weight is off-centre (${where}), leaving open space on the other side`,
  }[layout];
  const texture =
    detail < 0.08
      ? 'smooth, minimal surfaces'
      : detail < 0.25
        ? 'moderate detail'
        : 'busy, highly detailed texture';
  const mirror =
    symmetry > 0.9 ? 'nearly mirror-symmetric' : symmetry > 0.75 ? 'loosely symmetric' : 'asymmetric';
  return `${base}; ${mirror}, ${texture}`;
}

export function monetizationTemplate(stats: ImageStatistics, prompt?: string): TemplateResult {
  const { width, height, brightness, contrast, colorfulness } = stats;
  const { detail } = stats.composition;
  const megapixels = (width * height) / 1_000_000;
  const orientation = width === height ? 'square' : width > height ? 'landscape' : 'portrait';
  const tone = brightness < 0.3 ? 'dark' : brightness > 0.65 ? 'bright' : 'mid-toned';
  const palette = colorfulness < 0.15 ? 'muted' : colorfulness > 0.45 ? 'vibrant' : 'moderately colourful';
  const punch = contrast < 0.1 ? 'low contrast' : contrast > 0.25 ? 'high contrast' : 'medium contrast';
  const minimal = detail < 0.03;
  const colours = [...new Set(stats.dominantColors.map((c) => c.name))].slice(0, 3);
  const subject = promptKeywords(prompt);
  const printInches = (Math.max(width, height) / 300).toFixed(1);

  const tags = [
    ...subject,
    tone,
    palette,
    punch,
    orientation,
    ...(minimal ? ['minimal', 'copy space'] : []),
    ...colours,
  ].filter((t, i, all) => all.indexOf(t) === i);

  const suggestedUses: string[] = [];
  if (orientation === 'square') suggestedUses.push('social media feed posts and profile or album artwork');
  if (orientation === 'landscape') suggestedUses.push('website hero banners and desktop wallpapers');
  if (orientation === 'portrait') suggestedUses.push('phone wallpapers, stories and posters');
  if (minimal) suggestedUses.push('backgrounds with room for text: slides, ads, blog headers');
  if (colorfulness > 0.45 || contrast > 0.25)
    suggestedUses.push('posters, stickers and merchandise where bold colour sells');
  if (brightness < 0.3) suggestedUses.push('dark-mode wallpapers and moody editorial illustrations');
  if (colorfulness < 0.15 && !minimal) suggestedUses.push('calm decor prints and editorial illustrations');
  suggestedUses.push(
    megapixels >= 4
      ? `prints up to about ${printInches} in at 300 dpi (larger at lower dpi for wall art)`
      : `screen use and small prints (about ${printInches} in at 300 dpi); upscale before large prints`,
  );

  const platforms = [
    megapixels >= 4
      ? 'stock marketplaces that accept labelled AI-generated content (most require at least 4 MP; this image has ' +
        `${megapixels.toFixed(1)} MP)`
      : `stock marketplaces only after upscaling: most require at least 4 MP and this image has ${megapixels.toFixed(1)} MP`,
    'print-on-demand stores (posters, canvas, apparel) such as Redbubble, Society6 or Printful with Etsy',
    orientation === 'portrait' ? 'Pinterest and Instagram Stories' : 'Instagram and Pinterest',
    'digital-download shops (wallpaper and background packs)',
  ];

  const pricingIdeas = [
    'stock: expect royalties of roughly $0.25–$2 per standard-license download on micro-stock sites; volume matters more than price',
    'print on demand: keep the platform base price and add a 20–30% margin for the artwork',
    'digital download: about $2–$5 per image, or $8–$15 for a themed pack of 5–10',
    'social: use free posts to drive traffic to the paid print or pack rather than selling the post itself',
  ];

  const colourText = colours.length > 0 ? `, dominated by ${colours.join(', ')}` : '';
  const subjectText = subject.length > 0 ? ` The prompt suggests: ${subject.slice(0, 5).join(', ')}.` : '';
  const summary =
    `A ${orientation} ${width}x${height} image: ${tone}, ${palette} and ${punch}${colourText}; ` +
    `${describeComposition(stats)}.${subjectText} Measured by local statistics (not an AI model).`;

  return {
    summary,
    compositionDescription: describeComposition(stats),
    tags,
    suggestedUses,
    platforms,
    pricingIdeas,
  };
}
