// What every provider's statement parser (对账单) needs: the text's lines without BOM and line ends, named columns,
// CSV cells, and yuan → fen by string handling. Every refusal is a NotifyRejected naming the line, so an operator
// can find it in the file; nothing here ever goes through a float.
import { fenOf } from '../money.js';
import { NotifyRejected, type StatementLine } from './types.js';

/** The lines of a statement (CRLF or LF, BOM dropped), numbered from 1 by index + 1; refuses empty or undecoded text. */
export function statementLines(text: string): string[] {
  if (text.includes('\uFFFD')) {
    // What bytes of another charset look like after a UTF-8 decode: the amounts may still parse, the names will not.
    throw new NotifyRejected(
      'statement has undecodable characters (U+FFFD): decode the file from its charset (Alipay: GBK) before sending it',
    );
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (!lines.some((l) => l.trim())) throw new NotifyRejected('statement is empty');
  return lines;
}

/** A lookup of the header's columns by the provider's name for them. */
export function columns(head: readonly string[], what: string): (name: string) => number {
  return (name) => {
    const i = head.indexOf(name);
    if (i < 0) throw new NotifyRejected(`${what} has no column ${name}`);
    return i;
  };
}

/** "12.30" → 1230, "-0.01" → -1. Refuses more than two decimals rather than rounding money the provider printed. */
export function yuanToFen(text: string | undefined, where: string): number {
  try {
    return fenOf(text ?? '');
  } catch {
    throw new NotifyRejected(
      `${where} "${(text ?? '').slice(0, 24)}" is not an amount in yuan with at most two decimals`,
    );
  }
}

/** One CSV line as cells: commas separate; a cell opened by a double quote may hold commas, and "" is a quote. */
export function csvCells(line: string, where: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (line[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  if (quoted) throw new NotifyRejected(`${where}: a quoted cell is not closed`);
  cells.push(cell);
  return cells;
}

/** A generic statement for channels without a parser of their own: `channel_txn_id,out_trade_no,type,amount_fen,refund_no`. */
export function parseGenericStatement(text: string): StatementLine[] {
  const lines = statementLines(text).filter((l) => l.trim() && !l.startsWith('#'));
  const [head, ...rows] = lines;
  if (head?.replace(/\s/g, '') !== 'channel_txn_id,out_trade_no,type,amount_fen,refund_no') {
    throw new NotifyRejected('statement header must be channel_txn_id,out_trade_no,type,amount_fen,refund_no');
  }
  return rows.map((row, i) => {
    const [channelTxnId = '', outTradeNo = '', type = '', amount = '', refundNo = ''] = row
      .split(',')
      .map((x) => x.trim());
    if (!/^\d{1,12}$/.test(amount) || (type !== 'payment' && type !== 'refund') || !channelTxnId) {
      throw new NotifyRejected(`statement line ${i + 2} is malformed`);
    }
    return { type, channelTxnId, outTradeNo, refundNo: refundNo || null, amountFen: Number(amount) };
  });
}
