/**
 * The drawing behind the local procedural generator (not an AI model): a prompt's keywords pick a
 * scene (sky for the time of day, sun or moon, stars, mountains, skyline, forest, water, desert,
 * snow) and its hash picks the palette, shapes and placement. Everything is expressed in fractions
 * of the image size, so 1024 and 2048 renders show the same picture.
 */

export type Rgb = readonly [number, number, number];

export type TimeOfDay = 'day' | 'sunset' | 'night';
export type SceneElement = 'city' | 'water' | 'forest' | 'mountains' | 'desert' | 'snow';

export interface SceneSpec {
  time: TimeOfDay;
  elements: SceneElement[];
  /** Hue in degrees 0..360 that tints the palette (from a colour word in the prompt or the hash). */
  hue: number;
  /** True when the prompt named no scene element: the picture is an abstract composition. */
  abstract: boolean;
}

const TIME_WORDS: Record<TimeOfDay, readonly string[]> = {
  night: [
    'night',
    'midnight',
    'moon',
    'moonlit',
    'stars',
    'starry',
    'galaxy',
    'nocturnal',
    'neon',
    'cyberpunk',
  ],
  sunset: ['sunset', 'sunrise', 'dusk', 'dawn', 'evening', 'twilight', 'golden hour', 'afterglow'],
  day: ['day', 'noon', 'morning', 'sunny', 'bright', 'afternoon'],
};

const ELEMENT_WORDS: Record<SceneElement, readonly string[]> = {
  city: [
    'city',
    'skyline',
    'urban',
    'building',
    'skyscraper',
    'downtown',
    'street',
    'town',
    'metropolis',
    'cyberpunk',
  ],
  water: [
    'ocean',
    'sea',
    'water',
    'beach',
    'lake',
    'wave',
    'river',
    'coast',
    'harbor',
    'harbour',
    'bay',
    'island',
  ],
  forest: ['forest', 'tree', 'trees', 'woods', 'jungle', 'pine', 'park', 'nature', 'woodland'],
  mountains: ['mountain', 'mountains', 'hill', 'hills', 'peak', 'alps', 'valley', 'volcano', 'landscape'],
  desert: ['desert', 'dune', 'dunes', 'sand', 'canyon', 'sahara'],
  snow: ['snow', 'snowy', 'winter', 'ice', 'frozen', 'arctic', 'glacier'],
};

const COLOR_HUES: Record<string, number> = {
  red: 0,
  crimson: 350,
  pink: 330,
  magenta: 300,
  purple: 275,
  violet: 265,
  indigo: 240,
  blue: 215,
  navy: 225,
  cyan: 185,
  teal: 175,
  turquoise: 170,
  green: 120,
  emerald: 140,
  lime: 90,
  yellow: 55,
  gold: 45,
  golden: 45,
  orange: 28,
  amber: 38,
  brown: 25,
};

function hasWord(text: string, word: string): boolean {
  return new RegExp(`(^|[^a-z])${word}(s|es)?([^a-z]|$)`).test(text);
}

/** Reads the scene the prompt asks for; `rand` fills in what the prompt leaves open. */
export function planScene(prompt: string, rand: () => number): SceneSpec {
  const text = prompt.toLowerCase();
  let time: TimeOfDay = 'day';
  let timeFound = false;
  for (const t of ['night', 'sunset', 'day'] as const) {
    if (TIME_WORDS[t].some((w) => hasWord(text, w))) {
      time = t;
      timeFound = true;
      break;
    }
  }
  const elements = (Object.keys(ELEMENT_WORDS) as SceneElement[]).filter((e) =>
    ELEMENT_WORDS[e].some((w) => hasWord(text, w)),
  );
  if (!timeFound) {
    const r = rand();
    time = r < 0.55 ? 'day' : r < 0.8 ? 'sunset' : 'night';
  }
  const named = Object.keys(COLOR_HUES).find((c) => hasWord(text, c));
  const hue = named === undefined ? rand() * 360 : (COLOR_HUES[named] as number);
  return { time, elements, hue, abstract: elements.length === 0 && !timeFound };
}

/** A small deterministic PRNG (mulberry32): the same 32-bit seed gives the same sequence. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hsl(h: number, s: number, l: number): Rgb {
  const hh = (((h % 360) + 360) % 360) / 60;
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs((hh % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] =
    hh < 1
      ? [c, x, 0]
      : hh < 2
        ? [x, c, 0]
        : hh < 3
          ? [0, c, x]
          : hh < 4
            ? [0, x, c]
            : hh < 5
              ? [x, 0, c]
              : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** An RGB raster with the few primitives the scenes need; every write is clipped to the image. */
export class Raster {
  readonly data: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.data = new Uint8Array(width * height * 3);
  }

  /** Fills whole rows with a vertical gradient through `stops` (positions 0..1 of the height). */
  verticalGradient(stops: ReadonlyArray<readonly [number, Rgb]>, y0 = 0, y1 = this.height): void {
    const { width, data } = this;
    for (let y = Math.max(0, y0); y < Math.min(this.height, y1); y++) {
      const t = (y - y0) / Math.max(1, y1 - y0 - 1);
      let i = 0;
      while (i < stops.length - 2 && t > (stops[i + 1] as readonly [number, Rgb])[0]) i++;
      const [p0, c0] = stops[i] as readonly [number, Rgb];
      const [p1, c1] = (stops[i + 1] ?? stops[i]) as readonly [number, Rgb];
      const c = mix(c0, c1, p1 === p0 ? 0 : Math.min(1, Math.max(0, (t - p0) / (p1 - p0))));
      const row = y * width * 3;
      data[row] = c[0];
      data[row + 1] = c[1];
      data[row + 2] = c[2];
      // Doubling copy: log2(width) memmoves instead of a per-pixel loop.
      for (let filled = 3; filled < width * 3; filled *= 2) {
        data.copyWithin(row + filled, row, row + Math.min(filled, width * 3 - filled));
      }
    }
  }

  blendSpan(y: number, x0: number, x1: number, c: Rgb, alpha: number): void {
    if (y < 0 || y >= this.height || alpha <= 0) return;
    const a = Math.min(1, alpha);
    const from = Math.max(0, Math.floor(x0));
    const to = Math.min(this.width, Math.ceil(x1));
    const { data } = this;
    for (let x = from, i = (y * this.width + from) * 3; x < to; x++, i += 3) {
      data[i] = (data[i] as number) + (c[0] - (data[i] as number)) * a;
      data[i + 1] = (data[i + 1] as number) + (c[1] - (data[i + 1] as number)) * a;
      data[i + 2] = (data[i + 2] as number) + (c[2] - (data[i + 2] as number)) * a;
    }
  }

  fillRect(x0: number, y0: number, x1: number, y1: number, c: Rgb, alpha = 1): void {
    for (let y = Math.max(0, Math.floor(y0)); y < Math.min(this.height, Math.ceil(y1)); y++) {
      this.blendSpan(y, x0, x1, c, alpha);
    }
  }

  /** A disc with a soft edge and an optional glow that fades out to `glow` pixels from the edge. */
  disc(cx: number, cy: number, r: number, c: Rgb, alpha = 1, glow = 0): void {
    const outer = r + glow;
    const { data, width } = this;
    for (let y = Math.max(0, Math.floor(cy - outer)); y < Math.min(this.height, Math.ceil(cy + outer)); y++) {
      const dy = y + 0.5 - cy;
      const half = Math.sqrt(Math.max(0, outer * outer - dy * dy));
      const from = Math.max(0, Math.floor(cx - half));
      const to = Math.min(width, Math.ceil(cx + half));
      for (let x = from, i = (y * width + from) * 3; x < to; x++, i += 3) {
        const dx = x + 0.5 - cx;
        const d = Math.sqrt(dx * dx + dy * dy);
        const glowStart = glow > 0 ? alpha * 0.55 : 0;
        let a: number;
        if (d <= r - 1) a = alpha;
        else if (d <= r)
          a = alpha * (r - d) + glowStart * (1 - (r - d)); // anti-aliased rim into the glow
        else if (glow > 0) a = glowStart * (1 - (d - r) / glow) ** 2;
        else a = 0;
        if (a <= 0) continue;
        data[i] = (data[i] as number) + (c[0] - (data[i] as number)) * a;
        data[i + 1] = (data[i + 1] as number) + (c[1] - (data[i + 1] as number)) * a;
        data[i + 2] = (data[i + 2] as number) + (c[2] - (data[i + 2] as number)) * a;
      }
    }
  }

  /** Fills below a skyline `top[x]` down to `bottom`, shading from `topColor` to `bottomColor`. */
  fillBelow(top: Float32Array, bottom: number, topColor: Rgb, bottomColor: Rgb): void {
    let minTop = bottom;
    for (const t of top) minTop = Math.min(minTop, t);
    const { data, width } = this;
    for (let y = Math.max(0, Math.floor(minTop)); y < Math.min(this.height, Math.ceil(bottom)); y++) {
      const c = mix(topColor, bottomColor, (y - minTop) / Math.max(1, bottom - minTop));
      for (let x = 0, i = y * width * 3; x < width; x++, i += 3) {
        const edge = y + 1 - (top[x] as number);
        if (edge <= 0) continue;
        const a = Math.min(1, edge);
        data[i] = (data[i] as number) + (c[0] - (data[i] as number)) * a;
        data[i + 1] = (data[i + 1] as number) + (c[1] - (data[i + 1] as number)) * a;
        data[i + 2] = (data[i + 2] as number) + (c[2] - (data[i + 2] as number)) * a;
      }
    }
  }
}

interface Sky {
  top: Rgb;
  horizon: Rgb;
  sun: Rgb;
  land: Rgb;
}

function skyFor(spec: SceneSpec): Sky {
  const h = spec.hue;
  const snow = spec.elements.includes('snow');
  const desert = spec.elements.includes('desert');
  switch (spec.time) {
    case 'night':
      return {
        top: hsl(215 + (h % 40), 0.6, 0.07),
        horizon: hsl(230 + (h % 40), 0.45, 0.24),
        sun: [236, 238, 250],
        land: hsl(225 + (h % 40), 0.3, 0.09),
      };
    case 'sunset':
      return {
        top: hsl(250 + (h % 50), 0.45, 0.28),
        horizon: hsl(20 + (h % 30), 0.9, 0.62),
        sun: [255, 214, 140],
        land: desert ? hsl(25, 0.5, 0.3) : hsl(270 + (h % 40), 0.3, 0.16),
      };
    default:
      return {
        top: hsl(205 + (h % 20), 0.7, 0.45),
        horizon: hsl(195 + (h % 20), 0.6, snow ? 0.9 : 0.8),
        sun: [255, 250, 225],
        land: snow ? [236, 240, 248] : desert ? hsl(38, 0.6, 0.6) : hsl(110 + (h % 40), 0.45, 0.35),
      };
  }
}

/** Draws the scene for `spec` into `raster`; `rand` decides every placement. */
export function renderScene(raster: Raster, spec: SceneSpec, rand: () => number): void {
  if (spec.abstract) {
    renderAbstract(raster, spec, rand);
    return;
  }
  const { width: w, height: h } = raster;
  const s = Math.min(w, h);
  const sky = skyFor(spec);
  const hasWater = spec.elements.includes('water');
  const horizon = Math.round(h * (hasWater ? 0.58 + rand() * 0.1 : 0.62 + rand() * 0.12));

  raster.verticalGradient(
    [
      [0, sky.top],
      [0.75, mix(sky.top, sky.horizon, 0.7)],
      [1, sky.horizon],
    ],
    0,
    horizon,
  );

  if (spec.time === 'night') {
    const stars = Math.round((140 * (w * h)) / (1024 * 1024));
    for (let i = 0; i < stars; i++) {
      const x = rand() * w;
      const y = rand() * horizon * 0.85;
      const size = Math.max(1, Math.round((s / 1024) * (rand() < 0.1 ? 2 : 1)));
      raster.fillRect(x, y, x + size, y + size, [255, 255, 240], 0.5 + rand() * 0.5);
    }
  }

  const sunX = w * (0.2 + rand() * 0.6);
  const sunY = spec.time === 'sunset' ? horizon - s * (0.02 + rand() * 0.08) : horizon * (0.2 + rand() * 0.3);
  const sunR = s * (spec.time === 'night' ? 0.045 : 0.06 + rand() * 0.03);
  raster.disc(sunX, sunY, sunR, sky.sun, 1, sunR * (spec.time === 'night' ? 1.5 : 3));
  if (spec.time === 'night') raster.disc(sunX + sunR * 0.35, sunY - sunR * 0.2, sunR * 0.85, sky.top, 0.9);

  const ridge = new Float32Array(w);
  if (
    spec.elements.includes('mountains') ||
    spec.elements.includes('snow') ||
    !spec.elements.includes('city')
  ) {
    // Two layers of ridges, the far one paler (aerial perspective).
    for (const [layer, depth] of [
      [0, 0.55],
      [1, 0.2],
    ] as const) {
      const peaks = 2 + Math.floor(rand() * 3);
      const phase = Array.from({ length: 3 }, () => rand() * Math.PI * 2);
      const amp = h * (spec.elements.includes('mountains') ? 0.22 : 0.08) * (layer === 0 ? 1 : 0.7);
      for (let x = 0; x < w; x++) {
        const u = x / w;
        const v =
          Math.abs(Math.sin(u * Math.PI * peaks + (phase[0] as number))) * 0.6 +
          Math.sin(u * Math.PI * peaks * 2.7 + (phase[1] as number)) * 0.25 +
          Math.sin(u * Math.PI * peaks * 7.1 + (phase[2] as number)) * 0.08;
        ridge[x] = horizon - amp * (0.35 + v) + (layer === 0 ? 0 : h * 0.02);
      }
      const base = mix(sky.land, sky.horizon, depth);
      raster.fillBelow(
        ridge,
        horizon + 1,
        mix(base, [255, 255, 255], spec.elements.includes('snow') ? 0.6 : 0),
        base,
      );
    }
  }

  if (spec.elements.includes('city')) {
    const top = new Float32Array(w).fill(h);
    const buildings: Array<[number, number, number]> = [];
    let x = -rand() * s * 0.05;
    while (x < w) {
      const bw = s * (0.04 + rand() * 0.07);
      const bh = h * (0.12 + rand() * 0.3);
      buildings.push([x, x + bw, horizon - bh]);
      for (let i = Math.max(0, Math.floor(x)); i < Math.min(w, Math.ceil(x + bw)); i++) top[i] = horizon - bh;
      x += bw + s * rand() * 0.012;
    }
    const body = spec.time === 'day' ? hsl(spec.hue + 210, 0.12, 0.42) : hsl(spec.hue + 240, 0.25, 0.1);
    raster.fillBelow(top, horizon + 1, body, mix(body, [0, 0, 0], 0.3));
    const lit: Rgb = spec.time === 'day' ? [200, 220, 235] : hsl(45 + (spec.hue % 20), 0.9, 0.68);
    const win = Math.max(2, Math.round(s * 0.008));
    for (const [x0, x1, y0] of buildings) {
      for (let y = y0 + win * 2; y < horizon - win * 2; y += win * 3) {
        for (let wx = x0 + win; wx < x1 - win * 2; wx += win * 2.5) {
          if (rand() < (spec.time === 'day' ? 0.8 : 0.45))
            raster.fillRect(wx, y, wx + win, y + win * 1.4, lit, 0.85);
        }
      }
    }
  }

  const groundTop = spec.elements.includes('desert') ? mix(sky.land, sky.sun, 0.2) : sky.land;
  if (hasWater) {
    // Water reflects the sky and everything above the horizon, broken into ripples.
    const water = mix(sky.top, hsl(spec.hue + 200, 0.5, 0.25), 0.5);
    const { data } = raster;
    const stride = w * 3;
    const ripple = rand() * 10;
    for (let y = horizon; y < h; y++) {
      const d = y - horizon;
      const srcY = Math.max(0, horizon - 1 - Math.floor(d * 0.9));
      const shift = Math.round(Math.sin(d * 0.35 + ripple) * s * 0.006 * (1 + d / (h - horizon)));
      const src = srcY * stride;
      const dst = y * stride;
      const fade = 0.35 + 0.45 * (d / Math.max(1, h - horizon));
      for (let x = 0; x < w; x++) {
        const sx = Math.min(w - 1, Math.max(0, x + shift)) * 3;
        const i = dst + x * 3;
        data[i] = (data[src + sx] as number) * (1 - fade) + water[0] * fade;
        data[i + 1] = (data[src + sx + 1] as number) * (1 - fade) + water[1] * fade;
        data[i + 2] = (data[src + sx + 2] as number) * (1 - fade) + water[2] * fade;
      }
    }
  } else {
    raster.verticalGradient(
      [
        [0, groundTop],
        [1, mix(groundTop, [0, 0, 0], 0.45)],
      ],
      horizon,
      h,
    );
    if (spec.elements.includes('desert')) {
      for (let i = 0; i < 4; i++) {
        const y = horizon + (h - horizon) * (0.15 + i * 0.22);
        const dune = new Float32Array(w);
        const ph = rand() * 6;
        for (let x = 0; x < w; x++) dune[x] = y + Math.sin((x / w) * Math.PI * (1.5 + i) + ph) * s * 0.025;
        raster.fillBelow(
          dune,
          h,
          mix(groundTop, sky.sun, 0.1 - i * 0.03),
          mix(groundTop, [0, 0, 0], 0.2 + i * 0.08),
        );
      }
    }
  }

  if (spec.elements.includes('forest')) {
    const rows = 3;
    for (let r = 0; r < rows; r++) {
      const base = hasWater ? horizon : horizon + (h - horizon) * (0.1 + r * 0.3);
      const treeH = s * (0.08 + r * 0.05);
      const treeW = treeH * 0.45;
      const tops = new Float32Array(w).fill(h);
      let x = -rand() * treeW;
      while (x < w + treeW) {
        const th = treeH * (0.7 + rand() * 0.6);
        for (let i = Math.max(0, Math.floor(x - treeW)); i < Math.min(w, Math.ceil(x + treeW)); i++) {
          const t = base - th * (1 - Math.abs(i - x) / treeW);
          if (t < (tops[i] as number)) tops[i] = t;
        }
        x += treeW * (0.5 + rand() * 0.6);
      }
      const green =
        spec.time === 'night' ? hsl(150, 0.3, 0.08) : hsl(125 + (spec.hue % 25), 0.5, 0.22 - r * 0.04);
      raster.fillBelow(tops, hasWater ? base : h, green, mix(green, [0, 0, 0], 0.4));
      if (hasWater) break;
    }
  }
}

function renderAbstract(raster: Raster, spec: SceneSpec, rand: () => number): void {
  const { width: w, height: h, data } = raster;
  const s = Math.min(w, h);
  const a = hsl(spec.hue, 0.65, 0.35 + rand() * 0.2);
  const b = hsl(spec.hue + 120 + rand() * 120, 0.6, 0.25 + rand() * 0.35);
  // Diagonal two-colour gradient: per row a start colour and a constant per-pixel increment.
  const angle = rand() * Math.PI * 2;
  const cx = Math.cos(angle);
  const cy = Math.sin(angle);
  const norm = Math.abs(cx) * w + Math.abs(cy) * h;
  const off = (cx < 0 ? -cx * w : 0) + (cy < 0 ? -cy * h : 0);
  for (let y = 0; y < h; y++) {
    let t = (y * cy + off) / norm;
    const dt = cx / norm;
    for (let x = 0, i = y * w * 3; x < w; x++, i += 3, t += dt) {
      data[i] = a[0] + (b[0] - a[0]) * t;
      data[i + 1] = a[1] + (b[1] - a[1]) * t;
      data[i + 2] = a[2] + (b[2] - a[2]) * t;
    }
  }
  const bands = 2 + Math.floor(rand() * 3);
  for (let k = 0; k < bands; k++) {
    const y0 = rand() * h;
    const thick = s * (0.02 + rand() * 0.08);
    const freq = (1 + rand() * 3) * Math.PI * 2;
    const amp = s * (0.03 + rand() * 0.1);
    const ph = rand() * 6;
    const col = hsl(spec.hue + rand() * 90 - 45, 0.7, 0.55 + rand() * 0.3);
    const top = new Float32Array(w);
    for (let x = 0; x < w; x++) top[x] = y0 + Math.sin((x / w) * freq + ph) * amp;
    for (let x = 0; x < w; x++) {
      const t = top[x] as number;
      for (let y = Math.max(0, Math.floor(t)); y < Math.min(h, Math.ceil(t + thick)); y++) {
        const i = (y * w + x) * 3;
        data[i] = (data[i] as number) * 0.45 + col[0] * 0.55;
        data[i + 1] = (data[i + 1] as number) * 0.45 + col[1] * 0.55;
        data[i + 2] = (data[i + 2] as number) * 0.45 + col[2] * 0.55;
      }
    }
  }
  const circles = 4 + Math.floor(rand() * 6);
  for (let k = 0; k < circles; k++) {
    const r = s * (0.04 + rand() * 0.18);
    raster.disc(
      rand() * w,
      rand() * h,
      r,
      hsl(spec.hue + rand() * 180, 0.75, 0.4 + rand() * 0.45),
      0.35 + rand() * 0.5,
      r * 0.3,
    );
  }
}
