// How the embedded engine's memory allocator (the jemalloc inside libchdb) keeps memory that queries have
// freed. chDB builds it to hand freed pages back to the system within 5 s (dirty_decay_ms:5000,
// muzzy_decay_ms:0), so a query that follows a few seconds later takes fresh pages from the kernel and
// faults each one in again. On the virtual machine we measured on, a first touch costs several
// microseconds per 4 KB page, more than the query's own work on that memory: a full detection sweep
// over 10 million events took 14.3 s with chDB's setting and 10.1 s with freed memory kept for a minute
// (docs/store.md, "Engine memory"). The store keeps it for two minutes, longer than the live detector's
// default interval, so each run reuses the last one's memory.
//
// The allocator reads JE_MALLOC_CONF once, when libchdb is loaded; an operator's own value is left alone.

/** jemalloc options of the embedded engine: freed pages return to the system over two minutes. */
export const ENGINE_MALLOC_CONF = 'dirty_decay_ms:120000';

/** Sets JE_MALLOC_CONF unless it is set; must run before libchdb is first loaded in this process. */
export function configureEngineMemory(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.JE_MALLOC_CONF) env.JE_MALLOC_CONF = ENGINE_MALLOC_CONF;
}
