import { CmdId, type CommandAck } from '@estate/protocols';

export type CommandRoute = 'doorCommand' | 'cameraCommand' | 'chargerCommand';
export const ACK_ROUTE = { doorCommand: 'doorAck', cameraCommand: 'cameraAck', chargerCommand: 'chargerAck' } as const;
export type AckRoute = (typeof ACK_ROUTE)[CommandRoute];
/** The CommandHeader fields every command route shares. */
export type CommandFields = { cmdId: string; expiresAt: number };

/** What a command handler decided; the base turns it into the ack. */
export type Outcome = { result: 'done' } | { result: 'refused' | 'failed'; reason: string };
export const done: Outcome = { result: 'done' };
export const refused = (reason: string): Outcome => ({ result: 'refused', reason });

/** cmdId of the ack that answers a command too broken to carry a readable one. */
export const UNIDENTIFIED_CMD = 'unidentified';
const CMD_ID = new RegExp(CmdId.pattern ?? '');

/** Echo the cmdId of a refused command when it can be read, so the sender can correlate. */
export function salvageCmdId(payload: Buffer, maxBytes: number): string {
  if (payload.byteLength > maxBytes) return UNIDENTIFIED_CMD;
  try {
    const v: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof v === 'object' && v !== null && 'cmdId' in v && typeof v.cmdId === 'string' && CMD_ID.test(v.cmdId)) {
      return v.cmdId;
    }
  } catch {
    // not JSON: nothing to salvage
  }
  return UNIDENTIFIED_CMD;
}

/**
 * The last acks sent, by cmdId. QoS 1 may deliver a command twice; the second
 * copy gets the first answer again and is never executed again.
 */
export class AckMemory {
  private readonly acks = new Map<string, CommandAck>();

  constructor(private readonly size = 64) {}

  get(cmdId: string): CommandAck | undefined {
    return this.acks.get(cmdId);
  }

  remember(ack: CommandAck): void {
    if (ack.cmdId === UNIDENTIFIED_CMD) return;
    this.acks.set(ack.cmdId, ack);
    for (const old of this.acks.keys()) {
      if (this.acks.size <= this.size) break;
      this.acks.delete(old);
    }
  }
}
