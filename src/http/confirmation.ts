/**
 * The confirm step of a destructive button on a page, for every area.
 * Without JavaScript: the first press posts the form as it is; the handler,
 * after the same checks that decide who may act, answers this page saying
 * exactly what will happen, whose form posts the same fields again plus
 * `confirm=yes` under a danger button of the same name. Only that second
 * post changes anything; "Cancel" leads back with nothing changed. JSON
 * callers (the admin API) have no such step: a program has decided already.
 *
 *   POST form ──▶ checks ──▶ no confirm ──▶ 200 confirm page (nothing written)
 *                        └─▶ confirm=yes ─▶ the rule, then the new state
 */
import type { Response } from 'express';
import { z } from 'zod';
import { renderPage } from './views.js';

/** The field the confirm page adds; absent on the first press. */
export const confirmField = z.literal('yes').optional();

/** True when a form body carries the confirm page's second press (for handlers that read bodies themselves). */
export function isConfirmed(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as Record<string, unknown>).confirm === 'yes';
}

export interface Confirmation {
  /** The page's heading, a question ("Disconnect Acme from Gatehouse?"). */
  heading: string;
  /** What will happen, counted from the store ("revokes 3 connections of 2 people ..."). */
  consequences: string[];
  /** The form's target: the first button's own action. */
  action: string;
  /** The first form's fields to post again (return_to, role ...), `_csrf` and `confirm` aside. */
  fields?: Record<string, string | undefined>;
  /** The first button's visible text and accessible name, kept on the danger button. */
  button: { text: string; label?: string };
  /** Where "Cancel" leads: back, nothing changed. */
  cancelHref: string;
}

export function renderConfirmation(res: Response, confirmation: Confirmation): void {
  const fields = Object.entries(confirmation.fields ?? {})
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([name, value]) => ({ name, value }));
  renderPage(res, 'confirm', {
    title: confirmation.heading,
    heading: confirmation.heading,
    consequences: confirmation.consequences,
    action: confirmation.action,
    fields,
    button: { text: confirmation.button.text, label: confirmation.button.label ?? confirmation.button.text },
    cancelHref: confirmation.cancelHref,
  });
}
