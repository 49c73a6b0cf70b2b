import type { CallToolResult, ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import type { ToolOutput } from '../define.js';

/** The size of base64 data, without decoding it. */
const base64Bytes = (data: string) => {
  const clean = data.replace(/\s/g, '');
  return Math.floor((clean.length * 3) / 4) - (clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0);
};

/** One content block as the model sees it: text as it is, anything else as a one-line note of what it was. */
function blockText(block: ContentBlock): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'image':
    case 'audio':
      return `[${block.type}: ${block.mimeType}, ${base64Bytes(block.data)} bytes]`;
    case 'resource_link':
      return `[resource link: ${block.uri}${block.mimeType ? `, ${block.mimeType}` : ''}]`;
    case 'resource': {
      const { resource } = block;
      if ('text' in resource) return resource.text;
      return `[resource: ${resource.uri}${resource.mimeType ? `, ${resource.mimeType}` : ''}, ${base64Bytes(resource.blob)} bytes]`;
    }
    default:
      return `[${(block as { type: string }).type} content]`;
  }
}

/**
 * A tools/call result as a tool output: the content blocks joined by newlines, the structured
 * content as JSON first when no block is text; `isError` results are tool errors the model sees.
 */
export function toToolOutput(result: CallToolResult): ToolOutput {
  const blocks = result.content ?? [];
  const hasText = blocks.some((b) => b.type === 'text' || (b.type === 'resource' && 'text' in b.resource));
  const structured =
    !hasText && result.structuredContent !== undefined ? [JSON.stringify(result.structuredContent)] : [];
  const parts = [...structured, ...blocks.map(blockText)];
  const content = parts.length ? parts.join('\n') : '(the tool returned no content)';
  return result.isError ? { content, isError: true } : { content };
}
