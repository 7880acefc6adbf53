// Access groups as the gateways see them: a group is its doors and a schedule, a member item is one person's
// groups. Every membership or door change recomputes the items it touches and queues them (desired.ts).
import { AccessSync } from '@estate/protocols';
import type { TObject } from '@sinclair/typebox';
import type { Tx } from '../../core/tx.js';
import { type AccessItem, queueDesired } from './desired.js';

export type Schedule = Extract<AccessItem, { kind: 'group' }>['schedule'];
/** The protocols schedule schema itself (AccessSync 'group' item), so the API takes exactly what gateways run. */
export const ScheduleSchema = (
  (AccessSync.properties.upserts.items as unknown as { oneOf: TObject[] }).oneOf.find(
    (v) => (v.properties.kind as unknown as { const: string }).const === 'group',
  ) as TObject
).properties.schedule as TObject;
export const ALWAYS: Schedule = { windows: [], holidays: [], holidayWindows: [] };

/** A group row with its doors as the gateways see it. */
export const groupItemOf = (g: { id: string; schedule: unknown; doors: { doorId: string }[] }): AccessItem => ({
  kind: 'group',
  id: g.id,
  doors: g.doors.map((d) => d.doorId).sort(),
  schedule: g.schedule as Schedule,
});

/** A person's member item: the ids of their groups, sorted. */
export const memberItem = (personId: string, groups: string[]): AccessItem => ({
  kind: 'member',
  id: personId,
  groups: [...groups].sort(),
});

export async function groupItem(tx: Tx, groupId: string): Promise<AccessItem | undefined> {
  const g = await tx.accessGroup.findUnique({ where: { id: groupId }, include: { doors: true } });
  return g ? groupItemOf(g) : undefined;
}

/** Queues the current items of these groups (deleted ones as deletes). */
export async function syncGroups(tx: Tx, estateId: string, groupIds: Iterable<string>): Promise<void> {
  const upserts: AccessItem[] = [];
  const deletes: { kind: string; id: string }[] = [];
  for (const id of new Set(groupIds)) {
    const item = await groupItem(tx, id);
    if (item) upserts.push(item);
    else deletes.push({ kind: 'group', id });
  }
  await queueDesired(tx, estateId, 'access', { upserts, deletes });
}

/** Queues each person's member item: their groups now, or a delete when they have none. */
export async function syncMembers(tx: Tx, estateId: string, personIds: Iterable<string>): Promise<void> {
  const ids = [...new Set(personIds)];
  if (ids.length === 0) return;
  const rows = await tx.accessMember.findMany({ where: { personId: { in: ids } }, orderBy: { groupId: 'asc' } });
  const upserts: AccessItem[] = [];
  const deletes: { kind: string; id: string }[] = [];
  for (const id of ids) {
    const groups = rows.filter((r) => r.personId === id).map((r) => r.groupId);
    if (groups.length) upserts.push(memberItem(id, groups));
    else deletes.push({ kind: 'member', id });
  }
  await queueDesired(tx, estateId, 'access', { upserts, deletes });
}

/** The doors a household's default group opens: its own building's doors and the estate's common gates. */
async function householdDoors(tx: Tx, householdId: string): Promise<string[]> {
  const h = await tx.household.findUniqueOrThrow({ where: { id: householdId }, include: { unit: true } });
  const doors = await tx.accessDoor.findMany({
    where: { estateId: h.estateId, OR: [{ buildingId: h.unit.buildingId }, { buildingId: null }] },
    select: { id: true },
  });
  return doors.map((d) => d.id);
}

/**
 * A person's default way in: their household's group, made on first need (the first credential anyone of the
 * household receives), with the person as a member. Returns the group id.
 */
export async function ensureHouseholdAccess(
  tx: Tx,
  person: { id: string; estateId: string; householdId: string },
): Promise<string> {
  let group = await tx.accessGroup.findUnique({ where: { householdId: person.householdId } });
  if (!group) {
    const unit = await tx.household.findUniqueOrThrow({
      where: { id: person.householdId },
      select: { unit: { select: { number: true } } },
    });
    group = await tx.accessGroup.create({
      data: {
        id: `hh-${person.householdId.replaceAll('-', '')}`,
        estateId: person.estateId,
        name: `household ${unit.unit.number}`,
        kind: 'household',
        householdId: person.householdId,
        schedule: ALWAYS,
        doors: { create: (await householdDoors(tx, person.householdId)).map((doorId) => ({ doorId })) },
      },
    });
    await syncGroups(tx, person.estateId, [group.id]);
  }
  const member = await tx.accessMember.findUnique({
    where: { groupId_personId: { groupId: group.id, personId: person.id } },
  });
  if (!member) {
    await tx.accessMember.create({ data: { groupId: group.id, personId: person.id } });
    await syncMembers(tx, person.estateId, [person.id]);
  }
  return group.id;
}

/** Door ids a person may open through any of their groups (the ceiling of a visitor pass they invite). */
export async function doorsOfPerson(tx: Tx, personId: string): Promise<Set<string>> {
  const rows = await tx.accessGroupDoor.findMany({
    where: { group: { members: { some: { personId } } } },
    select: { doorId: true },
  });
  return new Set(rows.map((r) => r.doorId));
}

/** A new door joins the default groups it belongs to: its building's households, or all for a common gate. */
export async function addDoorToHouseholdGroups(
  tx: Tx,
  door: { id: string; estateId: string; buildingId: string | null },
): Promise<string[]> {
  const inBuilding = door.buildingId
    ? await tx.household.findMany({
        where: { estateId: door.estateId, unit: { buildingId: door.buildingId } },
        select: { id: true },
      })
    : undefined;
  const groups = await tx.accessGroup.findMany({
    where: {
      estateId: door.estateId,
      kind: 'household',
      ...(inBuilding ? { householdId: { in: inBuilding.map((h) => h.id) } } : {}),
    },
    select: { id: true },
  });
  if (groups.length) {
    await tx.accessGroupDoor.createMany({
      data: groups.map((g) => ({ groupId: g.id, doorId: door.id })),
      skipDuplicates: true,
    });
  }
  return groups.map((g) => g.id);
}
