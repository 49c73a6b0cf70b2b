/**
 * An agent profile with a tool of its own: `count_words` counts the words of workspace files.
 * Everything here runs on your worker; the run's workflow only sees the profile's defaults.
 */
import { defineAgent, defineTool, withWorkspaceFile, workspaceTools } from 'longhaul';
import { z } from 'zod';

export const countWords = defineTool({
  name: 'count_words',
  description: 'Count the words (runs of non-space characters) in a text file of the workspace.',
  input: z.object({ path: z.string().min(1).describe('file path relative to the workspace') }).strict(),
  // Reading only: safe to repeat, so no idempotency record is needed.
  sideEffectFree: true,
  async run({ path }, { workspace }) {
    // Opens the file by descriptor, confined to the workspace, as the built-in file tools do.
    const text = await withWorkspaceFile(workspace, path, (file) => file.readFile('utf8'));
    const words = text.split(/\s+/).filter(Boolean).length;
    return { content: `${path} has ${words} words` };
  },
});

export const wordCounter = defineAgent({
  name: 'word-counter',
  systemPrompt: 'You are a word-counting agent. Count the words of the files you are asked about with count_words.',
  // The built-in file tools plus our own; the policies below still apply to them.
  tools: [...workspaceTools, countWords],
  maxTurns: 40,
  compaction: { trigger: 60_000, instructions: 'Keep every file name and its word count.' },
  // Nothing this agent does should change files: refuse writes outright rather than ask.
  toolPolicies: { write_file: 'deny' },
  // Its own list in the structured state: the model records each count with
  // update_state({ add_counts: [...] }), and the list survives compaction, checked against this schema.
  state: { counts: z.object({ path: z.string().min(1), words: z.number().int().min(0) }).strict() },
  escalation: { onCap: 'stop' },
});
