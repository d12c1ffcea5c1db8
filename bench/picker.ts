/**
 * `BENCH_ONLY=picker npm run bench`: the page picker at scale. For a person
 * whose index holds 82, 500 and 10,000 pages (top-level pages, each with 10
 * sections of 9 pages), on PostgreSQL and on PGlite: the time to build
 * the picker's view from the index and render the consent page's HTML, and
 * that HTML's size in bytes and checkboxes, for the first screen, a search,
 * and a folded group's children fragment (what opening a group loads).
 *
 * In process and without HTTP: this is the picker's own cost (queries on the
 * index + Eta); the page's HTTP path is the consent routes', measured by the
 * OAuth benches. Each figure is the median of REPEAT runs after one warm-up.
 * Figures, not assertions.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { buildChildren, buildPicker } from '../src/consent/picker.js';
import { eta } from '../src/http/views.js';
import { migrateToLatest, openDatabase, type DatabaseOptions } from '../src/store/database.js';
import type { IndexedPage } from '../src/store/page-index.js';
import { createStores, type Stores } from '../src/store/stores.js';

const SIZES = [82, 500, 10_000];
const REPEAT = Number(process.env.BENCH_PICKER_REPEAT ?? 15);

/** Top-level pages, each with sections of 10, each with pages: about `total` pages in all. */
function tree(total: number): IndexedPage[] {
  const pages: IndexedPage[] = [];
  const add = (title: string, parentId: string | null) => {
    const pageId = randomUUID();
    pages.push({ pageId, parentId, parentType: parentId === null ? 'workspace' : 'page_id', title, objectType: 'page' });
    return pageId;
  };
  for (let top = 1; pages.length < total; top++) {
    const root = add(`Area ${top}`, null);
    for (let s = 1; s <= 10 && pages.length < total; s++) {
      const section = add(`Area ${top} section ${s}`, root);
      for (let p = 1; p <= 9 && pages.length < total; p++) add(`Area ${top} page ${s}.${p}`, section);
    }
  }
  return pages;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timed(render: () => Promise<string>): Promise<{ ms: number; bytes: number; boxes: number }> {
  let html = await render();
  const runs: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    html = await render();
    runs.push(performance.now() - t0);
  }
  return { ms: median(runs), bytes: Buffer.byteLength(html), boxes: (html.match(/type="checkbox"/g) ?? []).length };
}

async function seedConnection(stores: Stores, total: number): Promise<{ connectionId: string; pages: IndexedPage[] }> {
  const now = new Date();
  const person = await stores.people.upsertFromSignIn(
    { issuer: 'https://bench.example', subject: randomUUID(), email: `p${total}@bench.example`, emailVerified: true, name: 'Bench' },
    now,
  );
  const { workspace } = await stores.workspaces.upsertWithConnector(
    { id: randomUUID(), name: `Bench ${total}`, icon: null },
    person.id,
    now,
  );
  const connection = await stores.connections.save(
    {
      personId: person.id,
      workspaceId: workspace.id,
      kind: 'internal',
      botId: randomUUID(),
      notionUserId: randomUUID(),
      notionUser: {},
      encrypt: () => 'bench',
    },
    now,
  );
  const pages = tree(total);
  for (let i = 0; i < pages.length; i += 1000) await stores.pageIndex.upsertBatch(connection.id, pages.slice(i, i + 1000), now);
  return { connectionId: connection.id, pages };
}

export async function benchPicker(options: { admin: pg.Client; databaseUrl: URL }): Promise<void> {
  // The same screens on both dialects the picker runs on: PostgreSQL, and PGlite in memory (the embedded default).
  await benchOn('PostgreSQL', { kind: 'postgres', url: options.databaseUrl.href });
  await benchOn('PGlite', { kind: 'pglite', dataDir: null });
}

async function benchOn(label: string, database: DatabaseOptions): Promise<void> {
  const handle = await openDatabase(database);
  try {
    await migrateToLatest(handle);
    const stores = createStores(handle.db);
    console.log(`\nPage picker (${label}, in process): build the view from the index + render the page`);
    console.log('pages    screen             median ms   bytes      checkboxes');
    for (const total of SIZES) {
      const { connectionId, pages } = await seedConnection(stores, total);
      const picked = new Set([pages[1]!.pageId]);
      const page = async (request: { query: string; parentId: string | null; offset: number }) => {
        const picker = await buildPicker(stores.pageIndex, connectionId, request, picked);
        return eta.render('consent-pages', {
          title: 'Select pages',
          transactionId: 'bench',
          app: { name: 'Bench partner', logoUrl: null, website: null, agent: null },
          workspace: { id: 'ws', name: `Bench ${total}` },
          capabilities: [{ name: 'read_content', label: 'Read content' }],
          picker,
          pickedCount: picked.size,
          indexing: null,
          backHref: '/consent/bench',
          csrfToken: 'x',
          person: { displayName: 'Bench', isOwnerSomewhere: false },
          focused: true,
          organisationName: 'Bench',
        });
      };
      const rows: Array<[string, () => Promise<string>]> = [
        ['first screen', () => page({ query: '', parentId: null, offset: 0 })],
        ['search "page 3."', () => page({ query: 'page 3.', parentId: null, offset: 0 })],
        [
          'group fragment',
          async () =>
            eta.render('consent-picker-children', {
              ...(await buildChildren(stores.pageIndex, connectionId, pages[0]!.pageId, picked))!,
              childrenHref: '/consent/bench/pages/children?workspace=ws',
            }),
        ],
      ];
      for (const [name, render] of rows) {
        const r = await timed(render);
        console.log(
          `${String(total).padEnd(8)} ${name.padEnd(18)} ${r.ms.toFixed(1).padStart(9)}   ${String(r.bytes).padEnd(10)} ${r.boxes}`,
        );
      }
    }
  } finally {
    await handle.close();
  }
}
