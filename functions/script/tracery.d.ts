/** The little of tracery-grammar (untyped) the script function uses. */
declare module 'tracery-grammar' {
  interface Grammar {
    addModifiers(mods: Record<string, (s: string) => string>): void;
    flatten(rule: string): string;
  }
  const tracery: {
    createGrammar(raw: Record<string, string[]>): Grammar;
    setRng(rng: () => number): void;
    baseEngModifiers: Record<string, (s: string) => string>;
  };
  export default tracery;
}
