// A household's money: bills.paid_fen moves only through allocations, unallocated money waits in
// billing_accounts.credit_fen (overpayment, credit notes beyond a bill). Every function runs inside the caller's
// transaction after lockAccount(), which serialises all money movements of one household.
import type { Tx } from '../../core/tx.js';
import { n } from './money.js';

export type AllocationSource = 'payment' | 'credit' | 'credit_note' | 'refund';

/** The account upsert-and-lock for the (household_id, estate_id) row(s) that `rows` (VALUES or SELECT) gives. */
export const lockAccountSql = (rows: string) => `INSERT INTO billing_accounts (household_id, estate_id) ${rows}
  ON CONFLICT (household_id) DO UPDATE SET credit_fen = billing_accounts.credit_fen RETURNING credit_fen`;
const LOCK_ACCOUNT_SQL = lockAccountSql('VALUES ($1::uuid, $2::uuid)');

/**
 * Locks (creating if needed) the household's account row; returns its credit. One statement: the upsert's
 * no-op update takes the row lock and returns the latest committed credit, as SELECT … FOR UPDATE would.
 */
export async function lockAccount(tx: Tx, householdId: string, estateId: string): Promise<number> {
  const [row] = await tx.$queryRawUnsafe<{ credit_fen: bigint }[]>(LOCK_ACCOUNT_SQL, householdId, estateId);
  return n(row?.credit_fen);
}

export async function setCredit(tx: Tx, householdId: string, creditFen: number): Promise<void> {
  await tx.$executeRawUnsafe(
    'UPDATE billing_accounts SET credit_fen = $2, updated_at = now() WHERE household_id = $1::uuid',
    householdId,
    BigInt(creditFen),
  );
}

export async function allocate(
  tx: Tx,
  householdId: string,
  billId: string,
  amountFen: number,
  source: AllocationSource,
  refId: string | null,
): Promise<void> {
  if (amountFen === 0) return;
  await tx.$executeRawUnsafe(
    'UPDATE bills SET paid_fen = paid_fen + $2 WHERE id = $1::uuid',
    billId,
    BigInt(amountFen),
  );
  await tx.$executeRawUnsafe(
    'INSERT INTO bill_allocations (household_id, bill_id, amount_fen, source, ref_id) VALUES ($1::uuid, $2::uuid, $3, $4, $5)',
    householdId,
    billId,
    BigInt(amountFen),
    source,
    refId,
  );
}

/**
 * Spends the household's credit on what it owes: the preferred bills first (those a payment was made for), then
 * oldest due first. Returns what is left as credit (the overpayment kept for the household).
 */
export async function settle(
  tx: Tx,
  householdId: string,
  credit: number,
  source: AllocationSource,
  refId: string | null,
  prefer: readonly string[] = [],
): Promise<number> {
  let left = credit;
  const bills: string[] = [];
  const amounts: string[] = [];
  if (left > 0) {
    const due = await tx.$queryRawUnsafe<{ id: string; due: bigint }[]>(
      `SELECT id::text, total_fen - paid_fen AS due FROM bills
       WHERE household_id = $1::uuid AND kind <> 'credit_note' AND paid_fen < total_fen
       ORDER BY (id::text = ANY(string_to_array($2, ','))) DESC, due_on, issued_at, number`,
      householdId,
      prefer.join(','),
    );
    for (const b of due) {
      if (left <= 0) break;
      const take = Math.min(left, n(b.due));
      if (take !== 0) {
        bills.push(b.id);
        amounts.push(String(take));
      }
      left -= take;
    }
  }
  if (bills.length === 0) {
    await setCredit(tx, householdId, left);
    return left;
  }
  // The allocations and the credit left in one statement (same rows, same order as allocate() one by one).
  await tx.$executeRawUnsafe(
    `WITH alloc AS (SELECT * FROM unnest(string_to_array($2, ',')::uuid[], string_to_array($3, ',')::bigint[])
                    WITH ORDINALITY AS a(bill_id, amount_fen, ord)),
          paid AS (UPDATE bills SET paid_fen = bills.paid_fen + alloc.amount_fen FROM alloc WHERE bills.id = alloc.bill_id),
          allocated AS (INSERT INTO bill_allocations (household_id, bill_id, amount_fen, source, ref_id)
                   SELECT $1::uuid, bill_id, amount_fen, $4, $5 FROM alloc ORDER BY ord)
     UPDATE billing_accounts SET credit_fen = $6, updated_at = now() WHERE household_id = $1::uuid`,
    householdId,
    bills.join(','),
    amounts.join(','),
    source,
    refId,
    BigInt(left),
  );
  return left;
}

/** Takes money back off bills (newest first, those the payment paid before others) for a refund. */
export async function unallocate(tx: Tx, householdId: string, amountFen: number, paymentId: string, refundId: string) {
  let need = amountFen;
  const paid = await tx.$queryRawUnsafe<{ id: string; paid: bigint; by_payment: bigint }[]>(
    `SELECT b.id::text, b.paid_fen AS paid,
            coalesce((SELECT sum(a.amount_fen) FROM bill_allocations a
                      WHERE a.bill_id = b.id AND a.ref_id = $2), 0)::bigint AS by_payment
     FROM bills b WHERE b.household_id = $1::uuid AND b.paid_fen > 0
     ORDER BY (coalesce((SELECT sum(a.amount_fen) FROM bill_allocations a WHERE a.bill_id = b.id AND a.ref_id = $2), 0) > 0) DESC,
              b.due_on DESC, b.issued_at DESC`,
    householdId,
    paymentId,
  );
  for (const b of paid) {
    if (need <= 0) break;
    const take = Math.min(need, n(b.paid));
    await allocate(tx, householdId, b.id, -take, 'refund', refundId);
    need -= take;
  }
  return need;
}
