// The 403 page: only the sign-out button needs wiring.
import { del } from '../lib/api.js';

document.getElementById('sign-out')?.addEventListener('click', () => {
  void del('/api/v1/session').finally(() => location.assign('/login'));
});
