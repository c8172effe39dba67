/** Source positions of YAML nodes: from a document path to line:col, and from an offset to a path. */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml';

export type DocPath = (string | number)[];

export interface Position {
  line: number;
  col: number;
}

export class SourceMap {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  position(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line: Math.max(line, 1), col: Math.max(col, 1) };
  }

  /**
   * Where the node at `path` starts; for a key that is absent, where its nearest present ancestor
   * starts. With `keyOf`, the position of that key inside the mapping at `path` (unknown keys).
   */
  locate(path: DocPath, keyOf?: string): Position {
    let node: unknown = this.doc.contents;
    let last = node;
    for (const segment of path) {
      const next = child(node, segment);
      if (next === undefined) break;
      node = last = next;
    }
    if (keyOf !== undefined && isMap(last)) {
      const pair = last.items.find((p) => isScalar(p.key) && String(p.key.value) === keyOf);
      const keyNode = pair?.key as Node | undefined;
      if (keyNode?.range) return this.position(keyNode.range[0]);
    }
    const range = (last as Node | null | undefined)?.range;
    return this.position(range ? range[0] : 0);
  }

  /**
   * Every alias of the document, in document order. Each anchor's count is computed once, so a
   * billion-laughs document is measured without being expanded.
   */
  aliasUses(): AliasUse[] {
    const doc = this.doc;
    const counted = new Map<unknown, number>();
    /** Alias expansions needed to turn `node` into plain data. */
    const aliasesIn = (node: unknown, inProgress: Set<unknown>): number => {
      if (isAlias(node)) {
        const source = node.resolve(doc);
        return source ? 1 + aliasesIn(source, inProgress) : 1;
      }
      const known = counted.get(node);
      if (known !== undefined) return known;
      if (inProgress.has(node)) return Infinity;
      inProgress.add(node);
      let count = 0;
      if (isMap(node)) for (const pair of node.items) count += aliasesIn(pair.key, inProgress) + aliasesIn(pair.value, inProgress);
      else if (isSeq(node)) for (const item of node.items) count += aliasesIn(item, inProgress);
      inProgress.delete(node);
      counted.set(node, count);
      return count;
    };
    const uses: AliasUse[] = [];
    const walk = (node: unknown, path: DocPath) => {
      if (isAlias(node)) {
        const source = node.resolve(doc);
        uses.push({ path, at: this.position(node.range?.[0] ?? 0), source: node.source, expansions: source ? 1 + aliasesIn(source, new Set()) : undefined });
      } else if (isMap(node)) {
        for (const pair of node.items) {
          walk(pair.key, path);
          walk(pair.value, [...path, isScalar(pair.key) ? String(pair.key.value) : '?']);
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => walk(item, [...path, i]));
      }
    };
    walk(doc.contents, []);
    return uses;
  }

  /** The mapping key whose node starts at `offset`: its mapping's path and its text (duplicate keys). */
  keyAt(offset: number): { path: DocPath; key: string } | undefined {
    const search = (node: unknown, path: DocPath): { path: DocPath; key: string } | undefined => {
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = pair.key as Node | null;
          if (isScalar(key) && key.range?.[0] === offset) return { path, key: String(key.value) };
          if (isScalar(key)) {
            const found = search(pair.value, [...path, String(key.value)]);
            if (found) return found;
          }
        }
      } else if (isSeq(node)) {
        for (let i = 0; i < node.items.length; i++) {
          const found = search(node.items[i], [...path, i]);
          if (found) return found;
        }
      }
      return undefined;
    };
    return search(this.doc.contents, []);
  }
}

/** An alias in the document, where it is, and how many alias expansions resolving it takes. */
export interface AliasUse {
  path: DocPath;
  at: Position;
  /** The anchor name, without `*`. */
  source: string;
  /**
   * Aliases resolved to expand this one, itself included (aliases inside its anchor multiply);
   * Infinity when it sits inside its own anchor; undefined when no anchor of that name precedes it.
   */
  expansions: number | undefined;
}

function child(node: unknown, segment: string | number): unknown {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
    return pair?.value ?? undefined;
  }
  if (isSeq(node) && typeof segment === 'number') return node.items[segment] ?? undefined;
  return undefined;
}

/** `network.link.delay`, `workloads[1].requests`. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}
