export * from './imaging-error.ts';
export * from './local-image-generator.ts';
export { encodePng, readPngText } from './png-encoder.ts';
export { parseGenerateRequest } from './request.ts';
export * from './types.ts';
