/**
 * The partner developer guide: Markdown files in docs/partners/, rendered
 * server-side with `marked` (well kept, CommonMark + GFM tables, no DOM
 * needed). Only that folder is read, and only the files found there at start
 * can be asked for: a guide name is looked up in that list, never joined into
 * a path, so `/docs` cannot reach internal documents.
 *
 * The guide is the repository's own text, reviewed like code; marked escapes
 * nothing it is given as HTML, so no raw HTML is written in it (a page with
 * a `<script>` would also be blocked by the CSP).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Marked } from 'marked';

export const partnerDocsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/partners');

export interface GuidePage {
  slug: string;
  title: string;
  html: string;
}

const SLUG = /^[a-z0-9-]{1,60}$/;

/** Headings get ids from their text, so that a section can be linked (`/docs/oauth#pkce`). */
function headingId(text: string): string {
  return text
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

function markedFor(): Marked {
  return new Marked({
    gfm: true,
    renderer: {
      heading({ tokens, depth, text }) {
        const inner = this.parser.parseInline(tokens);
        return `<h${depth} id="${headingId(text)}">${inner}</h${depth}>\n`;
      },
    },
  });
}

/** Reads and renders every guide once: the guide ships with the code, so it changes only with a new release. */
export function loadGuide(dir = partnerDocsDir): Map<string, GuidePage> {
  const marked = markedFor();
  const pages = new Map<string, GuidePage>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.md')) continue;
    const slug = file.slice(0, -'.md'.length);
    if (!SLUG.test(slug)) continue;
    const source = readFileSync(path.join(dir, file), 'utf8');
    const title = /^#\s+(.+)$/m.exec(source)?.[1]?.trim() ?? slug;
    // Links between guide files are written as `oauth.md` (readable on GitHub too) and served as `/docs/oauth`.
    const html = (marked.parse(source) as string).replace(/href="([a-z0-9-]+)\.md(#[^"]*)?"/g, (_m, s: string, hash = '') =>
      s === 'index' ? `href="/docs${hash}"` : `href="/docs/${s}${hash}"`,
    );
    pages.set(slug, { slug, title, html });
  }
  return pages;
}
