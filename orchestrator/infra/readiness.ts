// What makes this process not ready beyond "Redis answers PING": named conditions that parts of
// the process raise and clear (still starting, the intake cannot write, Redis may evict).
// GET /v1/readyz answers 503 while any is raised. In-memory and per process, like readiness itself.

export const READINESS_CHECKS = [
  /** Listening, the background work (engine workers, reconciliation, ingestion) not yet started (server.ts). */
  'starting',
  'intake_writes',
  'redis_eviction_policy',
  'redis_full',
] as const;

export type ReadinessCheck = (typeof READINESS_CHECKS)[number];

export interface ReadinessProblem {
  check: ReadinessCheck;
  /** A short reason without secrets (it is served on a public route). */
  reason: string;
  /** Epoch ms it was raised. */
  since: number;
}

export class Readiness {
  private readonly problems = new Map<ReadinessCheck, ReadinessProblem>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Raises `check` with `reason`, or clears it when reason is undefined. */
  set(check: ReadinessCheck, reason: string | undefined): void {
    if (reason === undefined) {
      this.problems.delete(check);
      return;
    }
    const held = this.problems.get(check);
    this.problems.set(check, { check, reason, since: held?.since ?? this.now() });
  }

  list(): ReadinessProblem[] {
    return [...this.problems.values()];
  }

  raised(check: ReadinessCheck): boolean {
    return this.problems.has(check);
  }
}
