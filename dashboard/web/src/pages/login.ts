// TODO(issue 4): this page.
import { startPage } from '../lib/shell.js';

void startPage(() => undefined);
