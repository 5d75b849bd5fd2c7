export * from './bedrock-client.ts';
export { mapBedrockError } from './bedrock-errors.ts';
export * from './imaging-error.ts';
export * from './local-image-generator.ts';
export * from './nova-canvas-generator.ts';
export { encodePng, readPngText } from './png-encoder.ts';
export { parseGenerateRequest } from './request.ts';
export * from './types.ts';
