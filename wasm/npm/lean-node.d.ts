export * from './lean.js';
