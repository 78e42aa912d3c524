// Versions for the ReplacingMergeTree tables of the exporters (export_cursors, export_dead_letters): the
// time in ms, but strictly rising within this process, so two writes in one millisecond still order. A
// clock that steps back after a restart can only make an older cursor win, which re-sends (at least once),
// never skips.
let last = 0;

export function nextVersion(floor = 0): number {
  last = Math.max(Date.now(), last + 1, floor + 1);
  return last;
}
