/**
 * Published campaign configs: rendering and validation, the store port, and its local adapter. The S3
 * adapter is imported from `./s3-config-store` by those who need it, so local tools never load the SDK.
 */
export * from './render';
export * from './config-store';
export * from './file-config-store';
