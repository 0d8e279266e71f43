/**
 * The default script writer: a Tracery grammar, not a language model. It picks sentence templates about the
 * prompt's subject with a seeded random source, so one prompt and seed always give the same narration, and
 * another seed or prompt another one.
 */
import tracery from 'tracery-grammar';
import { mulberry32 } from '../media/random.ts';

/** A title and a narration of `sentences` sentences. */
export interface Script {
  title: string;
  narration: string;
}

/** 32-bit FNV-1a of a string: mixes the prompt into the seed. */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// An article is dropped only as part of a lead-in ("a short talk on"), never from the subject ("the history of tea").
const LEAD = /^(please\s+)?((write|give|make|tell|say|talk|speak|narrate|explain|describe)\s+(me\s+|us\s+)?)?(((a|an|the|some)\s+)?((short|brief|little|quick)\s+)?(talk|story|note|piece|script|narration|words?|something|speech|lines?)\s+)?((about|on|of|regarding)\s+)?/i;

/**
 * The prompt's subject: lead-in words ("tell me about", "a short talk on") and end punctuation dropped, at most
 * 8 words. @example subjectOf('Tell me about the history of tea!') // 'the history of tea'
 */
export function subjectOf(prompt: string): string {
  const words = prompt.trim().replace(LEAD, '').replace(/[\s.!?;:,]+$/, '').split(/\s+/).filter(Boolean);
  return (words.length ? words : prompt.trim().split(/\s+/)).slice(0, 8).join(' ') || 'this';
}

/** Stand-ins for the subject in the grammar (private-use characters no prompt-derived rule can contain). */
const SUBJECT = '\uE000';
const CAPITAL = '\uE001';

const RULES: Record<string, string[]> = {
  opener: [
    'Let me tell you about #subject#.',
    'Today I want to talk about #subject#.',
    'Have you ever stopped to think about #subject#?',
    'Here is something worth knowing about #subject#.',
    'People often ask me about #subject#.',
  ],
  middle: [
    'It is #adj# once you look closely, and it rewards a little #virtue#.',
    'Many people find it #adj#, and with good reason.',
    'What makes it #adj# is how much there is to #verb#.',
    'The more you #verb#, the more #adj# it becomes.',
    'It takes #virtue#, but the reward is something #adj#.',
    'There is always another side of it to #verb#.',
  ],
  closer: [
    'So next time, take a moment to #verb# #subject# for yourself.',
    'That is why #subject# is worth a few minutes of your day.',
    'Thank you for listening, and enjoy #subject#.',
    'I hope this makes you curious to #verb# more.',
  ],
  adj: ['surprising', 'fascinating', 'beautiful', 'remarkable', 'curious', 'delightful', 'rich', 'unexpected'],
  virtue: ['patience', 'curiosity', 'attention', 'practice', 'care', 'imagination'],
  verb: ['explore', 'discover', 'learn', 'notice', 'share', 'enjoy', 'question'],
  title: ['#Subject#', 'A few words on #subject#', 'On #subject#', 'Thinking about #subject#', 'Why #subject# matters'],
};

/** Writes a title and `sentences` (2–4) sentences about the prompt's subject, the same for the same prompt and seed. */
export function writeScript(prompt: string, seed: number, sentences: number): Script {
  const subject = subjectOf(prompt);
  const capital = subject.charAt(0).toUpperCase() + subject.slice(1);
  // The prompt is the user's text, never grammar: Tracery expands `#rule#` and `[action]` in a rule's text, so
  // the subject goes in as a placeholder and is put in after the expansion.
  const grammar = tracery.createGrammar({ ...RULES, subject: [SUBJECT], Subject: [CAPITAL] });
  const fill = (text: string) => text.replaceAll(SUBJECT, subject).replaceAll(CAPITAL, capital);
  grammar.addModifiers(tracery.baseEngModifiers);
  tracery.setRng(mulberry32(seed ^ hashText(prompt)));
  try {
    const middles = new Set<string>();
    // Distinct middle sentences; the grammar has six, and at most two are asked for.
    for (let tries = 0; middles.size < sentences - 2 && tries < 50; tries++) middles.add(grammar.flatten('#middle#'));
    const narration = [grammar.flatten('#opener#'), ...middles, grammar.flatten('#closer#')].join(' ');
    return { title: fill(grammar.flatten('#title#')), narration: fill(narration) };
  } finally {
    tracery.setRng(Math.random);
  }
}
