export * from './events.js';
export * from './messages.js';
export * from './topics.js';
export * from './config.js';
export * from './alerts.js';
export * from './holdout.js';
