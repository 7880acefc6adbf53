// Repair orders (报修工单): submission, the status machine, dispatch, ratings, complaints and figures.
// Every change goes through `change()` so the order, its transition row and its audit row commit together; a
// transition updates `WHERE status = <from>`, so two people acting at once cannot both move the same order.
import type { CloudDeps } from '../../core/deps.js';
import { feedbackOps } from './ops-feedback.js';
import { orderOps } from './ops-orders.js';
import { photoOps } from './ops-photos.js';
import { type Clock, repairScope } from './scope.js';

export { type Acting, type Clock, orderView, type Place, type SubmitInput, type WorkAction } from './scope.js';

export function repairService(deps: CloudDeps, clock: Clock = () => new Date()) {
  const s = repairScope(deps, clock);
  const { move, assignTo, autoChoice, previouslyAssigned, supervisors } = s;
  return {
    load: s.load,
    get: s.detail,
    ...orderOps(s),
    ...feedbackOps(s),
    ...photoOps(s),
    // Internals the jobs and the alarm listener share.
    internal: { move, assignTo, autoChoice, previouslyAssigned, supervisors },
  };
}
export type RepairService = ReturnType<typeof repairService>;
