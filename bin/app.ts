import { buildApp } from '../lib/app.js';

// Environment-agnostic on purpose: no account or region lookups, so `cdk synth` works offline.
buildApp().app.synth();
