/** One row of the self-test's table. */
export interface CheckResult {
  /** what was checked: `broker`, `device door-1`, `relay door-1`, `camera cam-1`, `clock`, `cloud link`, `disk` */
  check: string;
  ok: boolean;
  /** what was found, for people */
  detail: string;
  /** what to do about a failure */
  fix?: string | undefined;
  ms: number;
}

export type Progress = { state: 'running'; check: string } | { state: 'done'; result: CheckResult };
