/**
 * Nova Canvas's own limits, applied to every generator so the local stand-in accepts exactly what
 * Bedrock would: each side 320..4096 and divisible by 16, at most 4,194,304 pixels, aspect ratio
 * between 1:4 and 4:1, seed 0..858,993,459, prompt 1..1024 characters.
 * https://docs.aws.amazon.com/nova/latest/userguide/image-gen-access.html
 */
export const IMAGE_LIMITS = {
  minSide: 320,
  maxSide: 4096,
  sideMultiple: 16,
  maxPixels: 4_194_304,
  maxAspect: 4,
  maxSeed: 858_993_459,
  maxPromptLength: 1024,
} as const;
