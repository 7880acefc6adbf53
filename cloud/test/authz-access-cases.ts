// Rows of the role matrix (authz.test.ts) for access management (issue 6): doors, groups, faces, BLE keys, PINs,
// visitors and access events. Roles are written down here from the role matrix, not read from POLICY.
// `estate` routes are estate-wide (staff of the estate reach every household's), `household` routes act for a
// person, and a resident reaches only their own person there.
import { authzFixture, authzIds, phoneKey } from './access-helpers.js';
import type { Case } from './authz.test.js';
import type { World } from './helpers/cloud.js';

type Target = Parameters<Case['request']>[1];
const estateOf = (w: World, t: Target) => (t === 'otherEstate' ? w.estateB : w.estateA);
const STAFF: Case['roles'] = ['admin', 'staff'];
const PERSONAL: Case['roles'] = ['admin', 'staff', 'resident'];
const fixture: Case['before'] = (c) => authzFixture(c);
const person = (path: string, roles = PERSONAL, method: 'GET' | 'POST' = 'GET', payload?: () => object): Case => ({
  name: `${method} person ${path}`,
  roles,
  scope: 'household',
  before: fixture,
  request: (w, t) => ({
    method,
    url: `/api/persons/${w[t].personId}/${path}`,
    ...(payload ? { payload: payload() } : {}),
  }),
});
const estate = (path: string, roles = STAFF): Case => ({
  name: `GET estate ${path}`,
  roles,
  scope: 'estate',
  before: fixture,
  request: (w, t) => ({ method: 'GET', url: `/api/estates/${estateOf(w, t)}/${path}` }),
});

export const ACCESS_CASES: Case[] = [
  estate('doors', ['admin', 'staff', 'installer', 'resident']),
  {
    name: 'POST door',
    roles: STAFF,
    scope: 'estate',
    before: (c, i) => authzFixture(c, `d-${i}`),
    request: (w, t, i) => ({
      method: 'POST',
      url: `/api/estates/${estateOf(w, t)}/doors`,
      payload: { name: `Door ${i}`, gatewayId: authzIds(t).gateway, deviceId: `d-${i}` },
    }),
  },
  estate('access-groups'),
  {
    name: 'POST access group',
    roles: STAFF,
    scope: 'estate',
    before: fixture,
    request: (w, t, i) => ({
      method: 'POST',
      url: `/api/estates/${estateOf(w, t)}/access-groups`,
      payload: { name: `Group ${i}`, kind: 'custom', doors: [authzIds(t).door] },
    }),
  },
  person('face'),
  person('ble-keys'),
  person('ble-keys', PERSONAL, 'POST', () => ({ phoneName: 'phone', alg: 'Ed25519', publicKey: phoneKey() })),
  {
    name: 'POST ble-key suspend',
    roles: PERSONAL,
    scope: 'household',
    before: fixture,
    request: (_w, t) => ({ method: 'POST', url: `/api/ble-keys/${authzIds(t).key}/suspend` }),
  },
  person('pin'),
  person('pin/reset', PERSONAL, 'POST'),
  {
    name: 'POST visitor',
    roles: PERSONAL,
    scope: 'household',
    before: fixture,
    request: (w, t, i) => ({
      method: 'POST',
      url: `/api/persons/${w[t].personId}/visitors`,
      payload: {
        name: `Guest ${i}`,
        phone: '13812345678',
        purpose: 'visit',
        validFrom: new Date().toISOString(),
        validTo: new Date(Date.now() + 3_600_000).toISOString(),
        doors: [authzIds(t).door],
      },
    }),
  },
  {
    // approving a visit of another estate is refused (404) like any object outside the caller's scope
    name: 'POST visitor approve',
    roles: STAFF,
    scope: 'estate',
    before: fixture,
    request: (_w, t) => ({ method: 'POST', url: `/api/visitors/${authzIds(t).pass}/approve`, payload: {} }),
  },
  estate('visitors'),
  person('access-events'),
  estate('access-events'),
];
