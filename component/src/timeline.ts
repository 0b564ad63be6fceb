/**
 * Named moments on a frame's performance timeline ("ssc:" + `name`): the host's and the
 * sandbox's steps from mount to first result, which the benchmark reads from each frame
 * (bench/run.py) to say where a person's wait goes. Nothing else reads them.
 */
export function mark(name: string): void {
  performance.mark(`ssc:${name}`);
}
