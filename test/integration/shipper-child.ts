// A process that emits audit events and ships them, for the shipper's crash test (it is kill -9ed).
//   node shipper-child.js AUDIT_DIR COLLECTOR_URL TOKEN_FILE EVENTS
// Prints "ready", then "emitted N" and "drained" once every event it kept is acknowledged.
import { join } from 'node:path';
import { emptyCallRecord } from '../../common/audit/event.js';
import { openAuditPipeline } from '../../common/audit/open-emitter.js';
import { validateConfig } from '../../common/config/load-config.js';
import { AuditSection, type AuditConfig } from '../../common/config/schema-parts.js';
import { createLogger } from '../../common/log.js';

const [dir = '', url = '', tokenFile = '', count = '0'] = process.argv.slice(2);
const total = Number(count);
const audit = validateConfig(AuditSection, { dir, collector: { url, token_file: tokenFile, batch_max_events: 500, flush_interval_ms: 10 } }, 'shipper-child') as AuditConfig;
const log = createLogger({ name: 'shipper-child', level: 'warn' });
const { emitter, shipper } = openAuditPipeline({ emitter: 'connector', emitterId: 'c1', audit, configFile: join(dir, 'connector.yaml'), log });
if (!shipper) throw new Error('no shipper');
const lastSeq = emitter.chain.seq + total;
// Keeps the process alive: the shipper's own timers are unref()ed.
const alive = setInterval(() => {}, 1000);

let i = 0;
function burst(): void {
  // About 5000 events a second: slow enough for the test to kill this process mid-stream.
  for (let k = 0; k < 10 && i < total; k++, i++) {
    emitter.emit({ ...emptyCallRecord(), ts: new Date().toISOString(), subaccount: 'acme', path: `/crash/${i}`, status: 200 });
  }
  if (i < total) setTimeout(burst, 2);
  else {
    console.log(`emitted ${total}`);
    void drain();
  }
}

async function drain(): Promise<void> {
  while (!(shipper && shipper.metrics.kept_seq >= lastSeq && (await shipper.drained(1000)))) await new Promise((r) => setTimeout(r, 20));
  console.log('drained');
}

process.on('SIGTERM', () => {
  clearInterval(alive);
  void emitter.close().then(() => process.exit(0));
});
console.log('ready');
burst();
