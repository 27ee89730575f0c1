import { BadRequestException } from '@nestjs/common';

/** The header naming who makes a change, until authentication arrives (issue 10). */
export const ACTOR_HEADER = 'x-kizuna-actor';

/** The actor of an API change: the x-kizuna-actor header, "anonymous" without it. */
export function actorOf(header: string | string[] | undefined): string {
  const v = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!v) return 'anonymous';
  if (v.length > 256) throw new BadRequestException(`${ACTOR_HEADER}: at most 256 characters`);
  if (v === 'system') throw new BadRequestException(`${ACTOR_HEADER}: "system" is reserved for rules and SLA sweeps`);
  return v;
}
