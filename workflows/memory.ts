import type { CarriedMemory } from '../common/carried-memory.js';
import type { PendingBlock, ToolCall } from '../common/contracts.js';
import { nanosOfUsd } from '../common/cost.js';
import { initialCounters, withCounterDefaults } from '../common/counters.js';
import type { Escalation } from '../common/escalation.js';
import type { RunOptions } from '../common/options.js';
import { initialState, type AgentState } from '../common/state.js';
import { BEGIN, textBlock } from './blocks.js';

/** The carried fields whose recorded names say too little; `RunMemory` names them for what they hold. */
type RecordedNames = 'open' | 'append' | 'turnOpen' | 'pendingCalls' | 'results' | 'cutOff';

/** A carried memory with its state in hand (read back if it was carried by reference). */
export type CarriedWithState = CarriedMemory & { state: AgentState };

/**
 * Everything a run remembers, in one object, so that it is carried into a continued run whole.
 * The loop is driven by it alone (next-step.ts): a continued run resumes exactly where the last
 * one stood, in the middle of a turn's tool calls or while a person is being asked. The other
 * fields are described where they are carried (common/carried-memory.ts).
 */
export interface RunMemory extends Omit<CarriedMemory, RecordedNames | 'state'> {
  state: AgentState;
  openEscalation: Escalation | null;
  /** What the next model call adds as a user message; null continues the assistant message at the head. */
  nextUserMessage: PendingBlock[] | null;
  /** The turn is counted and its model call has not succeeded yet (it is retried, not counted again). */
  awaitingReply: boolean;
  /** The current reply's tool calls not yet run, and the results of those that ran. */
  toolCallsToRun: ToolCall[];
  toolResults: PendingBlock[];
  /** The reply those calls came from stopped at max_tokens: the model is told after their results. */
  replyStoppedAtMaxTokens: boolean;
}

/** The memory keeps this many closed escalations and refused answers, the newest. */
export const HISTORY_LIMIT = 100;

export function freshMemory(options: RunOptions): RunMemory {
  return {
    state: initialState(),
    stateRef: null,
    stateUpdates: [],
    counters: initialCounters(),
    compactions: [],
    escalations: [],
    escalationSeq: 0,
    openEscalation: null,
    ignoredResponses: [],
    maxTurns: options.maxTurns,
    tokenBudget: options.tokenBudget,
    budgetNanos: options.budgetUsd !== undefined ? nanosOfUsd(options.budgetUsd) : undefined,
    head: null,
    instructionsRef: null,
    nextUserMessage: [textBlock(BEGIN)],
    awaitingReply: false,
    toolCallsToRun: [],
    toolResults: [],
    replyStoppedAtMaxTokens: false,
    wrappingUp: false,
    lastFailure: '',
    report: undefined,
    lastText: '',
    chain: { runNumber: 1, turnsAtStart: 0, compactionsAtStart: 0 },
  };
}

/** Reads the memory a previous run handed on. */
export function fromCarried(carried: CarriedWithState): RunMemory {
  const { open, append, turnOpen, pendingCalls, results, cutOff, ...same } = carried;
  return {
    ...same,
    // A chain carried from before a counter existed counts it from 0.
    counters: withCounterDefaults(same.counters),
    openEscalation: open,
    nextUserMessage: append,
    awaitingReply: turnOpen,
    toolCallsToRun: pendingCalls,
    toolResults: results,
    replyStoppedAtMaxTokens: cutOff,
  };
}

/** The memory as recorded runs carry it: the same fields under their recorded names. */
export function toCarried(memory: RunMemory): CarriedMemory {
  const {
    openEscalation,
    nextUserMessage,
    awaitingReply,
    toolCallsToRun,
    toolResults,
    replyStoppedAtMaxTokens,
    ...same
  } = memory;
  return {
    ...same,
    open: openEscalation,
    append: nextUserMessage,
    turnOpen: awaitingReply,
    pendingCalls: toolCallsToRun,
    results: toolResults,
    cutOff: replyStoppedAtMaxTokens,
  };
}

/**
 * What the next run of the chain starts from: this memory, with the chain one run further on.
 * By reference, the state stays out of the continue-as-new input when the store holds it
 * (`stateRef`, plus `stateUpdates` since): the input then grows with the updates of one turn at most.
 */
export function memoryForNextRun(memory: RunMemory, stateByReference = false): CarriedMemory {
  const { counters } = memory;
  const carried = toCarried({
    ...memory,
    chain: {
      runNumber: memory.chain.runNumber + 1,
      turnsAtStart: counters.turn,
      compactionsAtStart: counters.compactions,
    },
  });
  return stateByReference && memory.stateRef !== null ? { ...carried, state: null } : carried;
}
