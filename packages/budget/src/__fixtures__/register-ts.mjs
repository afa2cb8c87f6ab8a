// `node --import ./register-ts.mjs child.mjs`: installs ts-loader.mjs before the child starts.
import { register } from 'node:module';

register('./ts-loader.mjs', import.meta.url);
