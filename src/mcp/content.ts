/**
 * Notion content as text an agent reads, and Markdown an agent writes as
 * Notion blocks. Deliberately small: headings, paragraphs, lists, to-dos,
 * quotes, code and child pages; anything else is named by its type so the
 * agent knows something is there.
 */
type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export function plainText(richText: unknown): string {
  if (!Array.isArray(richText)) return '';
  return richText.map((part) => (isObject(part) && typeof part.plain_text === 'string' ? part.plain_text : '')).join('');
}

/** A page's or database's title, from its title property or its `title` array. */
export function titleOf(object: Json): string {
  if (Array.isArray(object.title)) return plainText(object.title);
  if (isObject(object.properties))
    for (const property of Object.values(object.properties))
      if (isObject(property) && property.type === 'title') return plainText(property.title);
  return '';
}

const PREFIX: Record<string, string> = {
  heading_1: '# ',
  heading_2: '## ',
  heading_3: '### ',
  bulleted_list_item: '- ',
  numbered_list_item: '1. ',
  quote: '> ',
  paragraph: '',
};

export function blocksToMarkdown(blocks: unknown[]): string {
  const lines: string[] = [];
  for (const block of blocks) {
    if (!isObject(block) || typeof block.type !== 'string') continue;
    const body = isObject(block[block.type]) ? (block[block.type] as Json) : {};
    const text = plainText(body.rich_text);
    if (block.type in PREFIX) lines.push(`${PREFIX[block.type]}${text}`);
    else if (block.type === 'to_do') lines.push(`- [${body.checked ? 'x' : ' '}] ${text}`);
    else if (block.type === 'code') lines.push('```', text, '```');
    else if (block.type === 'child_page' || block.type === 'child_database')
      lines.push(`[${block.type === 'child_page' ? 'page' : 'database'}: ${String(body.title ?? '')}] (id ${String(block.id)})`);
    else lines.push(`[${block.type}]`);
  }
  return lines.join('\n');
}

const richText = (content: string) => [{ type: 'text', text: { content: content.slice(0, 2000) } }];

/** Markdown lines as Notion blocks (Notion takes at most 100 children per call). */
export function markdownToBlocks(markdown: string): Json[] {
  const blocks: Json[] = [];
  const add = (type: string, content: string, extra: Json = {}) =>
    blocks.push({ object: 'block', type, [type]: { rich_text: richText(content), ...extra } });
  for (const line of markdown.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    let match: RegExpExecArray | null;
    if ((match = /^(#{1,3}) (.*)$/.exec(line))) add(`heading_${match[1]!.length}`, match[2]!);
    else if ((match = /^[-*] \[( |x)\] (.*)$/i.exec(line))) add('to_do', match[2]!, { checked: match[1] !== ' ' });
    else if ((match = /^[-*] (.*)$/.exec(line))) add('bulleted_list_item', match[1]!);
    else if ((match = /^\d+\. (.*)$/.exec(line))) add('numbered_list_item', match[1]!);
    else if ((match = /^> (.*)$/.exec(line))) add('quote', match[1]!);
    else add('paragraph', line);
  }
  return blocks.slice(0, 100);
}

export { richText };
