import { EscalationState } from '@kizuna/shared/contracts';

export const WORKFLOW_ACTIONS = ['acknowledge', 'resolve', 'reassign', 'hand-back', 'add-evidence'] as const;
export type WorkflowAction = (typeof WORKFLOW_ACTIONS)[number];

export const OPEN_STATES: readonly EscalationState[] = [EscalationState.Open, EscalationState.Assigned, EscalationState.Acknowledged];
export const isOpenState = (s: EscalationState) => OPEN_STATES.includes(s);

/**
 * What a workflow action may do from a state: null when allowed, else why not. Resolved and
 * handed-back escalations are closed for good (a new case opens a new escalation).
 */
export function workflowRefusal(state: EscalationState, action: WorkflowAction, hasAssignee: boolean): string | null {
  if (!isOpenState(state)) return `the escalation is ${state}: it is closed`;
  switch (action) {
    case 'acknowledge':
      if (state === EscalationState.Acknowledged) return 'the escalation is already acknowledged';
      if (!hasAssignee) return 'the escalation has no assignee yet: reassign it to someone first';
      return null;
    default:
      return null;
  }
}
