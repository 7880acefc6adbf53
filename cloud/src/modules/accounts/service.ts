// Accounts of staff and residents. Only an admin makes admins or staff, or changes a role afterwards (OWASP
// API5/API3: a resident can never reach their own role, a staff account cannot mint a peer).
import { authorize, estateFilter, type Principal, type Role, STAFF_GRANTABLE } from '../../core/authz.js';
import type { Actor } from '../../core/context.js';
import type { CloudDeps } from '../../core/deps.js';
import { AppError, notFound } from '../../core/errors.js';
import { decodeCursor, pageOf } from '../../core/pagination.js';
import { change } from '../../core/tx.js';

type Acting = Actor & { principal: Principal };

interface AccountRow {
  id: string;
  login: string;
  role: string;
  estateId: string | null;
  personId: string | null;
  disabledAt: Date | null;
  createdAt: Date;
}

export const accountView = (a: AccountRow) => ({
  id: a.id,
  login: a.login,
  role: a.role as Role,
  estateId: a.estateId,
  personId: a.personId,
  disabled: a.disabledAt !== null,
  createdAt: a.createdAt.toISOString(),
});

export interface NewAccount {
  login: string;
  password: string;
  role: Role;
  estateId?: string | undefined;
  personId?: string | undefined;
}

export function accountService(deps: CloudDeps) {
  const { prisma, passwords } = deps;
  return {
    async list(actor: Acting, q: { estateId?: string; login?: string; limit?: number; cursor?: string }) {
      authorize(actor.principal, 'account:list');
      const estateId = estateFilter(actor.principal, q.estateId);
      const limit = q.limit ?? 20;
      const after = decodeCursor(q.cursor, 1);
      const rows = await prisma.account.findMany({
        where: {
          ...(estateId ? { estateId } : {}),
          login: { ...(q.login ? { startsWith: q.login } : {}), ...(after ? { gt: String(after[0]) } : {}) },
        },
        orderBy: { login: 'asc' },
        take: limit + 1,
      });
      const page = pageOf(rows, limit, (r) => [r.login]);
      return { items: page.items.map(accountView), nextCursor: page.nextCursor };
    },

    async create(actor: Acting, input: NewAccount) {
      const p = actor.principal;
      authorize(p, 'account:create');
      if (p.role !== 'admin' && !STAFF_GRANTABLE.includes(input.role)) throw new AppError('FORBIDDEN');
      let estateId = input.role === 'admin' ? null : (input.estateId ?? p.estateId);
      if (input.role !== 'admin' && !estateId)
        throw new AppError('VALIDATION', 'estateId is required', '/body/estateId');
      if (p.role !== 'admin' && estateId !== p.estateId) throw notFound('Estate');
      let personId: string | null = null;
      if (input.role === 'resident') {
        if (!input.personId) throw new AppError('VALIDATION', 'a resident account needs personId', '/body/personId');
        const person = await prisma.person.findUnique({ where: { id: input.personId } });
        if (!person || (p.role !== 'admin' && person.estateId !== p.estateId)) throw notFound('Person');
        personId = person.id;
        estateId = person.estateId;
      }
      const passwordHash = await passwords.hash(input.password);
      return change(prisma, actor, async (tx, audit) => {
        if (await tx.account.findUnique({ where: { login: input.login } })) {
          throw new AppError('CONFLICT', 'login is taken', '/body/login');
        }
        const created = await tx.account.create({
          data: { login: input.login, passwordHash, role: input.role, estateId, personId },
        });
        const view = accountView(created);
        await audit({ action: 'account.create', entity: 'account', entityId: created.id, estateId, after: view });
        return view;
      });
    },

    async update(actor: Acting, id: string, input: { role?: Role; disabled?: boolean }) {
      authorize(actor.principal, 'account:update');
      return change(prisma, actor, async (tx, audit) => {
        const before = await tx.account.findUnique({ where: { id } });
        if (!before) throw notFound('Account');
        if (input.role && input.role !== 'admin' && !before.estateId) {
          throw new AppError('CONFLICT', 'give the account an estate before a non-admin role', '/body/role');
        }
        if (input.role === 'resident' && !before.personId) {
          throw new AppError('CONFLICT', 'a resident account needs a person', '/body/role');
        }
        const after = await tx.account.update({
          where: { id },
          data: {
            ...(input.role ? { role: input.role } : {}),
            ...(input.disabled === undefined ? {} : { disabledAt: input.disabled ? new Date() : null }),
          },
        });
        await audit({
          action: 'account.update',
          entity: 'account',
          entityId: id,
          estateId: after.estateId,
          before: accountView(before),
          after: accountView(after),
        });
        return accountView(after);
      });
    },
  };
}
