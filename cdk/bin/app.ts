#!/usr/bin/env node
// `cdk synth` / `cdk deploy` entry (cdk.json runs it with tsx). Offline synth needs no credentials:
// the region falls back to us-east-1 and the account stays a deploy-time token.
import { buildAgenticPaymentsApp } from '../lib/app.ts';

const { app } = buildAgenticPaymentsApp();
app.synth();
