/**
 * The sandbox's seeded world. Ids are fixed (literal for people and
 * workspaces, derived from names for content), so Gatehouse's bootstrap, its
 * tests and its documentation can refer to them.
 */
import { createHash } from 'node:crypto';
import { attachChild, insertPage, pageMention, text } from './content.js';
import { seedUuid } from './ids.js';
import { STATE_VERSION } from './state.js';
import type { CommentRecord, DatabaseRecord, PersonRecord, RichText, SandboxState, StoredBlockContent } from './state.js';

export const SEED_USER_IDS = {
  ada: '5a7b1d0e-ada0-4c1e-8b1a-000000000001',
  ben: '5a7b1d0e-be00-4c1e-8b1a-000000000002',
} as const;

export const SEED_WORKSPACE_IDS = {
  acme: '0c3a1e00-ac3e-4a00-9000-000000000001',
  sideProject: '0c3a1e00-51de-4a00-9000-000000000002',
  archive: '0c3a1e00-a4c4-4a00-9000-000000000003',
} as const;

export const SEED_WORKSPACE_NAMES = { acme: 'Acme', sideProject: 'Side Project', archive: 'Archive' } as const;

/** Demo passwords of the sandbox's own sign-in page. */
export const SEED_PASSWORDS: Readonly<Record<string, string>> = {
  'ada@example.com': 'ada-demo',
  'ben@example.com': 'ben-demo',
};

/** The id of a seeded page by workspace name and title (titles are unique within a workspace). */
export function seedPageId(workspaceName: string, title: string): string {
  return seedUuid(`page:${workspaceName}:${title}`);
}

export const SEED_DATABASE_IDS = {
  projects: seedUuid('database:Acme:Projects'),
} as const;
export const SEED_DATA_SOURCE_IDS = {
  projects: seedUuid('data_source:Acme:Projects'),
} as const;

/** Ids of seeded pages that tests and documentation name. */
export const SEED_PAGE_IDS = {
  companyHome: seedPageId('Acme', 'Company Home'),
  engineering: seedPageId('Acme', 'Engineering'),
  architecture: seedPageId('Acme', 'Architecture'),
  dataModel: seedPageId('Acme', 'Data Model'),
  entityGlossary: seedPageId('Acme', 'Entity Glossary'),
  incidentResponse: seedPageId('Acme', 'Incident Response'),
  product: seedPageId('Acme', 'Product'),
  roadmap2026: seedPageId('Acme', 'Roadmap 2026'),
  design: seedPageId('Acme', 'Design'),
  websiteRedesign: seedPageId('Acme', 'Website Redesign'),
  sideProjectHome: seedPageId('Side Project', 'Side Project Home'),
  oldWiki: seedPageId('Archive', 'Old Wiki'),
} as const;

/** Title, then children. */
type Tree = [string, ...Tree[]];

const ACME_TREE: Tree[] = [
  [
    'Company Home',
    ['Mission and Values'],
    [
      'Handbook',
      ['Onboarding', ['First Week Checklist'], ['Accounts and Access'], ['Meet the Team']],
      ['Benefits', ['Health Insurance'], ['Parental Leave'], ['Learning Budget']],
      ['Travel Policy'],
      ['Expense Policy'],
    ],
    ['Office Locations', ['London Office'], ['Lisbon Office']],
  ],
  [
    'Engineering',
    [
      'Architecture',
      ['Service Map'],
      ['Data Model', ['Entity Glossary'], ['Migration Guidelines']],
      ['Decision Records', ['ADR 001 Use PostgreSQL'], ['ADR 002 Adopt TypeScript'], ['ADR 003 Event Bus']],
    ],
    [
      'Runbooks',
      ['Incident Response', ['Severity Levels'], ['On-call Rotation'], ['Postmortem Template']],
      ['Deploying to Production'],
      ['Database Failover'],
    ],
    ['Code Review Guidelines'],
    ['Engineering Onboarding'],
    ['Tech Radar'],
  ],
  [
    'Product',
    ['Roadmap 2026', ['Q1 Goals'], ['Q2 Goals'], ['Q3 Goals'], ['Q4 Goals']],
    ['Product Specs', ['Search Revamp', ['Search Revamp Research'], ['Search Revamp Designs']], ['Mobile App'], ['Billing v2']],
    ['User Research', ['Interview Notes March'], ['Interview Notes April'], ['Survey Results']],
    ['Release Notes'],
  ],
  ['Design', ['Design System', ['Colors'], ['Typography'], ['Components', ['Buttons'], ['Forms']]], ['Brand Guidelines']],
  ['Marketing', ['Campaigns', ['Spring Launch'], ['Conference Season']], ['Content Calendar'], ['Press Kit']],
  ['Sales', ['Sales Playbook'], ['Pricing'], ['Customer Stories']],
  ['Meeting Notes', ['All Hands January'], ['All Hands February'], ['Leadership Offsite']],
];

const SIDE_PROJECT_TREE: Tree[] = [
  ['Side Project Home', ['Ideas', ['App Ideas'], ['Blog Post Ideas']], ['Reading List'], ['Weekend Plans']],
  ['Garden Planner', ['Seed Schedule']],
];

const ARCHIVE_TREE: Tree[] = [
  ['Old Wiki', ['Legacy Processes'], ['2019 Plans'], ['Retired Projects', ['Project Falcon']]],
  ['Archived Notes'],
];

const PROJECT_ROWS: Array<{ title: string; status: string; dependsOn: string[] }> = [
  { title: 'Website Redesign', status: 'In progress', dependsOn: [] },
  { title: 'Mobile Launch', status: 'Planned', dependsOn: ['Website Redesign'] },
  { title: 'Billing Migration', status: 'Done', dependsOn: [] },
  { title: 'Security Audit', status: 'In progress', dependsOn: ['Billing Migration'] },
  { title: 'Hiring Plan', status: 'Planned', dependsOn: [] },
];

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

export function workspaceIconUrl(publicUrl: string, workspaceName: string): string {
  return `${publicUrl}/icons/${workspaceName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.svg`;
}

const SEED_EPOCH = Date.parse('2026-01-05T09:00:00.000Z');

export function buildSeedState(publicUrl: string): SandboxState {
  const state: SandboxState = {
    version: STATE_VERSION,
    persons: [],
    workspaces: [],
    pages: {},
    databases: {},
    blocks: {},
    children: {},
    comments: {},
    oauthClients: {},
    integrations: {},
    tokens: {},
    codes: {},
    sessions: {},
    transactions: {},
    generatedBatches: 0,
    webhookSubscriptions: {},
  };
  const person = (id: string, name: string, email: string): PersonRecord => ({
    id,
    name,
    email,
    passwordHash: hashSecret(SEED_PASSWORDS[email]),
    avatarUrl: null,
  });
  state.persons.push(
    person(SEED_USER_IDS.ada, 'Ada Lovelace', 'ada@example.com'),
    person(SEED_USER_IDS.ben, 'Ben Bitdiddle', 'ben@example.com'),
  );
  state.workspaces.push(
    {
      id: SEED_WORKSPACE_IDS.acme,
      name: 'Acme',
      icon: workspaceIconUrl(publicUrl, 'Acme'),
      memberIds: [SEED_USER_IDS.ada, SEED_USER_IDS.ben],
    },
    {
      id: SEED_WORKSPACE_IDS.sideProject,
      name: 'Side Project',
      icon: workspaceIconUrl(publicUrl, 'Side Project'),
      memberIds: [SEED_USER_IDS.ada],
    },
    { id: SEED_WORKSPACE_IDS.archive, name: 'Archive', icon: null, memberIds: [SEED_USER_IDS.ada] },
  );

  // Each seeded object is one minute younger than the previous, so orderings are stable.
  let tick = 0;
  const nextTime = () => new Date(SEED_EPOCH + tick++ * 60_000);

  const addTree = (workspaceName: string, workspaceId: string, trees: Tree[]) => {
    const visit = ([title, ...children]: Tree, parentId: string | null, parentTitle: string | null) => {
      const now = nextTime();
      const page = insertPage(state, {
        id: seedPageId(workspaceName, title),
        workspaceId,
        parent: parentId === null ? { type: 'workspace' } : { type: 'page_id', id: parentId },
        properties: { title: { type: 'title', title: [text(title)] } },
        author: SEED_USER_IDS.ada,
        now,
      });
      const blocks: StoredBlockContent[] = [
        { type: 'heading_2', heading_2: { rich_text: [text('Overview')], color: 'default', is_toggleable: false } },
        paragraph([
          text(parentTitle === null ? `${title} is a top-level page of ${workspaceName}.` : `${title} is part of ${parentTitle}.`),
        ]),
        { type: 'bulleted_list_item', bulleted_list_item: { rich_text: [text('Owner: Ada Lovelace')], color: 'default' } },
        { type: 'bulleted_list_item', bulleted_list_item: { rich_text: [text('Last reviewed: January 2026')], color: 'default' } },
      ];
      seedBlocks(state, page.id, blocks, now);
      for (const child of children) visit(child, page.id, title);
    };
    for (const tree of trees) visit(tree, null, null);
  };

  addTree('Acme', SEED_WORKSPACE_IDS.acme, ACME_TREE);
  addTree('Side Project', SEED_WORKSPACE_IDS.sideProject, SIDE_PROJECT_TREE);
  addTree('Archive', SEED_WORKSPACE_IDS.archive, ARCHIVE_TREE);

  addProjectsDatabase(state, nextTime);

  // Cross-links: a link_to_page, a page mention and a link to the database.
  const later = nextTime();
  seedBlocks(
    state,
    SEED_PAGE_IDS.engineering,
    [
      paragraph([text('Plans for the year live in the roadmap:')]),
      { type: 'link_to_page', link_to_page: { type: 'page_id', page_id: SEED_PAGE_IDS.roadmap2026 } },
    ],
    later,
  );
  seedBlocks(
    state,
    SEED_PAGE_IDS.roadmap2026,
    [paragraph([text('Engineering estimates come from '), pageMention(state, publicUrl, SEED_PAGE_IDS.engineering), text('.')])],
    later,
  );
  seedBlocks(
    state,
    SEED_PAGE_IDS.product,
    [{ type: 'link_to_page', link_to_page: { type: 'database_id', database_id: SEED_DATABASE_IDS.projects } }],
    later,
  );
  seedBlocks(
    state,
    SEED_PAGE_IDS.incidentResponse,
    [
      { type: 'to_do', to_do: { rich_text: [text('Page the on-call engineer')], color: 'default', checked: true } },
      { type: 'to_do', to_do: { rich_text: [text('Open an incident channel')], color: 'default', checked: false } },
      { type: 'toggle', toggle: { rich_text: [text('Escalation contacts')], color: 'default' } },
    ],
    later,
  );
  const toggleId = state.children[SEED_PAGE_IDS.incidentResponse].find((id) => state.blocks[id]?.content.type === 'toggle') as string;
  seedBlocks(state, toggleId, [paragraph([text('Ada Lovelace, then Ben Bitdiddle.')])], later);

  addComments(state, nextTime);
  return state;
}

/** Seeded blocks get ids derived from their container and position. */
function seedBlocks(state: SandboxState, containerId: string, contents: StoredBlockContent[], now: Date): void {
  const offset = state.children[containerId]?.length ?? 0;
  contents.forEach((content, index) => {
    const id = seedUuid(`block:${containerId}:${offset + index}`);
    const time = now.toISOString();
    state.blocks[id] = {
      id,
      workspaceId: (state.pages[containerId] ?? state.blocks[containerId]).workspaceId,
      parent: state.pages[containerId] ? { type: 'page_id', id: containerId } : { type: 'block_id', id: containerId },
      content,
      inTrash: false,
      createdTime: time,
      lastEditedTime: time,
      createdBy: SEED_USER_IDS.ada,
      lastEditedBy: SEED_USER_IDS.ada,
    };
    attachChild(state, containerId, id);
  });
}

function paragraph(richText: RichText): StoredBlockContent {
  return { type: 'paragraph', paragraph: { rich_text: richText, color: 'default' } };
}

function addProjectsDatabase(state: SandboxState, nextTime: () => Date): void {
  const time = nextTime().toISOString();
  const database: DatabaseRecord = {
    id: SEED_DATABASE_IDS.projects,
    dataSourceId: SEED_DATA_SOURCE_IDS.projects,
    workspaceId: SEED_WORKSPACE_IDS.acme,
    parent: { type: 'workspace' },
    title: [text('Projects')],
    properties: {
      Name: { id: 'title', type: 'title' },
      Status: {
        id: 'stat',
        type: 'select',
        options: [
          { id: 'opt-planned', name: 'Planned', color: 'gray' },
          { id: 'opt-progress', name: 'In progress', color: 'blue' },
          { id: 'opt-done', name: 'Done', color: 'green' },
        ],
      },
      'Depends on': { id: 'deps', type: 'relation', databaseId: SEED_DATABASE_IDS.projects },
      Summary: { id: 'summ', type: 'rich_text' },
    },
    icon: { type: 'emoji', emoji: '🗂️' },
    inTrash: false,
    isInline: false,
    createdTime: time,
    lastEditedTime: time,
    createdBy: SEED_USER_IDS.ada,
    lastEditedBy: SEED_USER_IDS.ada,
  };
  state.databases[database.id] = database;
  const statusOptions = database.properties.Status.type === 'select' ? database.properties.Status.options : [];
  for (const row of PROJECT_ROWS) {
    const page = insertPage(state, {
      id: seedPageId('Acme', row.title),
      workspaceId: database.workspaceId,
      parent: { type: 'database_id', id: database.id },
      properties: {
        Name: { type: 'title', title: [text(row.title)] },
        Status: { type: 'select', optionId: statusOptions.find((o) => o.name === row.status)?.id ?? null },
        'Depends on': { type: 'relation', pageIds: row.dependsOn.map((title) => seedPageId('Acme', title)) },
        Summary: { type: 'rich_text', rich_text: [text(`${row.title}: ${row.status.toLowerCase()}.`)] },
      },
      author: SEED_USER_IDS.ada,
      now: nextTime(),
    });
    seedBlocks(state, page.id, [paragraph([text(`Notes for ${row.title}.`)])], new Date(page.createdTime));
  }
}

function addComments(state: SandboxState, nextTime: () => Date): void {
  const add = (key: string, pageId: string, author: string, words: string, discussionKey = key) => {
    const comment: CommentRecord = {
      id: seedUuid(`comment:${key}`),
      discussionId: seedUuid(`discussion:${discussionKey}`),
      workspaceId: state.pages[pageId].workspaceId,
      parent: { type: 'page_id', id: pageId },
      richText: [text(words)],
      author: { type: 'person', id: author },
      createdTime: nextTime().toISOString(),
    };
    state.comments[comment.id] = comment;
  };
  add('engineering-1', SEED_PAGE_IDS.engineering, SEED_USER_IDS.ada, 'Can we add the on-call schedule here?');
  add('engineering-2', SEED_PAGE_IDS.engineering, SEED_USER_IDS.ben, 'Added it under Runbooks.', 'engineering-1');
  add('roadmap-1', SEED_PAGE_IDS.roadmap2026, SEED_USER_IDS.ben, 'Q3 looks ambitious.');
  add('incident-1', SEED_PAGE_IDS.incidentResponse, SEED_USER_IDS.ada, 'Reviewed after the March outage.');
  add('side-1', SEED_PAGE_IDS.sideProjectHome, SEED_USER_IDS.ada, 'Pick one idea for the summer.');
}
