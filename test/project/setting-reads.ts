/**
 * Which settings of the resolved Scenario does the measuring code use? A static answer from the
 * TypeScript checker. Every leaf key of `Scenario` (src/scenario/types.ts, down through workload
 * specs, NetworkSpec and timeouts) is followed from each place the consuming code reads it:
 *
 * - a read that only passes the value on (into a key of a typed object such as an IPC message or
 *   ConnectOptions, into a variable, a function's parameter, a function's return value) is
 *   followed to that key, variable or parameter, and on from every place that reads it;
 * - an object passed on whole (a phase's `rebind`) takes its keys along: they are followed in the
 *   type it lands in, by name;
 * - anything else is a use: a comparison, arithmetic, a condition, a library or node API call.
 *
 * A setting is used when some path ends in a use in the consuming code. Along the way two defects
 * are collected even for used settings: a dead end (a key, variable or parameter of the consuming
 * code the value was handed to, which nothing there reads) and a hand-off into an object of no
 * declared type (an `unknown` IPC message), which no reader can be checked against.
 *
 * Symbols are resolved by the checker, not by name: two keys with one name are told apart, and a
 * key reached through Pick<>, Partial<>, a union or a destructuring is still the declared key.
 */
import path from 'node:path';
import ts from 'typescript';

export interface SettingUse {
  /** `timeouts.requestMs`, `workloads[].sizes`, `networks[].spec.paths[].up.delayMs`. */
  key: string;
  /** Where the key is declared, `file:line`. */
  declared: string;
  /** Where the value is first used, `file:line`; undefined when nothing uses it. */
  usedAt?: string;
  /** Keys and parameters of the consuming code the value was handed to that nothing reads: `file:line -> target`. */
  deadEnds: string[];
  /** Hand-offs into objects of no declared type (an `unknown` IPC message): nothing can be checked beyond them. */
  untyped: string[];
}

export interface AnalysisOptions {
  root: string;
  /** Directories and files (relative to root) of the code that consumes settings; reads elsewhere do not count. */
  consumers: string[];
  /** Types whose keys are records the code writes for the results (a request's path), not read back: no dead ends there. */
  outputs?: string[];
}

type Decl = ts.Declaration;

/** Array methods whose result holds what their callback returns. */
const MAPPERS = new Set(['map', 'flatMap']);

/** Expressions that hand on the value of their operand unchanged. */
const WRAPPERS = new Set([
  ts.SyntaxKind.ParenthesizedExpression,
  ts.SyntaxKind.NonNullExpression,
  ts.SyntaxKind.AsExpression,
  ts.SyntaxKind.SatisfiesExpression,
  ts.SyntaxKind.TypeAssertionExpression,
  ts.SyntaxKind.AwaitExpression,
]);

interface Leaf {
  key: string;
  decl: Decl;
  /** Each enclosing key's declarations, with the key names from it down to the leaf. */
  ancestors: Array<{ decls: Decl[]; rest: string[] }>;
}

export function analyseSettingUses(opts: AnalysisOptions): SettingUse[] {
  const configFile = ts.findConfigFile(opts.root, ts.sys.fileExists, 'tsconfig.json')!;
  const parsed = ts.getParsedCommandLineOfConfigFile(configFile, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const program = ts.createProgram(
    parsed.fileNames.filter((f) => !path.relative(opts.root, f).startsWith('test')),
    parsed.options,
  );
  const checker = program.getTypeChecker();
  const where = (node: ts.Node) => {
    const sf = node.getSourceFile();
    return `${path.relative(opts.root, sf.fileName)}:${sf.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  };
  const inProject = (node: ts.Node) => !node.getSourceFile().isDeclarationFile && !node.getSourceFile().fileName.includes('node_modules');
  const isConsumer = (node: ts.Node) => {
    const r = path.relative(opts.root, node.getSourceFile().fileName);
    return opts.consumers.some((d) => r === d || r.startsWith(`${d}/`));
  };
  const declsOf = (sym: ts.Symbol | undefined): Decl[] => {
    if (!sym) return [];
    return (sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym).declarations ?? [];
  };

  // ------------------------------------------------------------------ the leaf keys of Scenario
  const isObjectType = (t: ts.Type) => (t.flags & ts.TypeFlags.Object) !== 0 && !checker.isArrayType(t);
  const hasObjectPart = (type: ts.Type): boolean =>
    (type.isUnion() ? type.types : [type]).some((t) =>
      checker.isArrayType(t) ? hasObjectPart(checker.getTypeArguments(t as ts.TypeReference)[0]!) : isObjectType(t),
    );
  const leaves = new Map<Decl, Leaf>();
  const walkType = (type: ts.Type, prefix: string, ancestors: Array<{ decls: Decl[]; names: string[] }>, seen: Set<ts.Type>) => {
    type = checker.getNonNullableType(type);
    if (type.isUnion() || type.isIntersection()) {
      for (const t of type.types) walkType(t, prefix, ancestors, seen);
      return;
    }
    if (checker.isArrayType(type)) return walkType(checker.getTypeArguments(type as ts.TypeReference)[0]!, `${prefix}[]`, ancestors, seen);
    if (!isObjectType(type) || seen.has(type)) return;
    const inner = new Set(seen).add(type);
    for (const prop of checker.getPropertiesOfType(type)) {
      const propType = checker.getNonNullableType(checker.getTypeOfSymbol(prop));
      if (propType.getCallSignatures().length > 0) continue;
      const key = prefix ? `${prefix}.${prop.name}` : prop.name;
      // Mapped keys (Partial<Record<Protocol, X>>) are declared in the library: only their values count.
      const decls = (prop.declarations ?? []).filter(inProject);
      const chain = ancestors.map((a) => ({ decls: a.decls, names: [...a.names, prop.name] }));
      if (hasObjectPart(propType)) {
        walkType(propType, key, decls.length > 0 ? [...chain, { decls, names: [] }] : chain, inner);
      } else {
        for (const decl of decls) if (!leaves.has(decl)) leaves.set(decl, { key, decl, ancestors: chain.map((a) => ({ decls: a.decls, rest: a.names })) });
      }
    }
  };
  const typesFile = program.getSourceFile(path.join(opts.root, 'src/scenario/types.ts'))!;
  const scenario = typesFile.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'Scenario')!;
  walkType(checker.getTypeAtLocation(scenario), '', [], new Set());

  // ------------------------------------------------------------------ every reference, by declaration
  const refs = new Map<Decl, ts.Node[]>();
  const bindingProperty = (el: ts.BindingElement): ts.Symbol | undefined => {
    const name = el.propertyName ?? el.name;
    if (!ts.isIdentifier(name) && !ts.isStringLiteral(name)) return undefined;
    return checker.getPropertyOfType(checker.getTypeAtLocation(el.parent), name.text);
  };
  for (const sf of program.getSourceFiles()) {
    if (!inProject(sf)) continue;
    const visit = (node: ts.Node) => {
      let sym: ts.Symbol | undefined;
      let at = node;
      if (ts.isPropertyAccessExpression(node)) sym = checker.getSymbolAtLocation(node.name);
      else if (ts.isElementAccessExpression(node) && ts.isStringLiteral(node.argumentExpression)) sym = checker.getSymbolAtLocation(node.argumentExpression);
      else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) sym = bindingProperty(node);
      else if (ts.isShorthandPropertyAssignment(node)) {
        // `{ name }` reads the variable `name`.
        sym = checker.getShorthandAssignmentValueSymbol(node);
        at = node.name;
      } else if (ts.isIdentifier(node) && !(ts.isPropertyAccessExpression(node.parent) && node.parent.name === node) && !ts.isShorthandPropertyAssignment(node.parent)) {
        sym = checker.getSymbolAtLocation(node);
      }
      for (const d of declsOf(sym)) {
        const list = refs.get(d) ?? [];
        list.push(at);
        refs.set(d, list);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }

  /** A reference that declares, imports or names rather than reads. */
  const isDeclarationSite = (r: ts.Node): boolean => {
    if (!ts.isIdentifier(r) || !r.parent) return false;
    const p = r.parent;
    if ((ts.isBindingElement(p) && (p.name === r || p.propertyName === r)) || ts.isImportSpecifier(p) || ts.isImportClause(p) || ts.isExportSpecifier(p)) return true;
    return (
      (ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isPropertyAssignment(p) || ts.isPropertySignature(p) || ts.isPropertyDeclaration(p) ||
        ts.isFunctionDeclaration(p) || ts.isMethodDeclaration(p) || ts.isMethodSignature(p)) &&
      p.name === r
    );
  };

  /** The declarations of the key `names` inside `type` (through arrays, unions, optionals). */
  const resolvePath = (type: ts.Type, names: string[]): Decl[] => {
    let types = [type];
    let decls: Decl[] = [];
    for (const name of names) {
      const next: ts.Type[] = [];
      decls = [];
      for (let t of types) {
        t = checker.getNonNullableType(t);
        const parts = t.isUnion() ? t.types : [t];
        for (let part of parts) {
          if (checker.isArrayType(part)) part = checker.getTypeArguments(part as ts.TypeReference)[0]!;
          const prop = checker.getPropertyOfType(part, name);
          if (!prop) continue;
          decls.push(...declsOf(prop).filter(inProject));
          next.push(checker.getTypeOfSymbol(prop));
        }
      }
      types = next;
    }
    return decls;
  };

  // ------------------------------------------------------------------ following one setting
  interface Trace {
    uses: string[];
    deadEnds: string[];
    untyped: string[];
    /** Per declaration and key path below it: whether following it ended well ('pending' meanwhile). */
    done: Map<Decl | ts.Node, Map<string, boolean | 'pending'>>;
  }
  /** What a value was handed to; `inner`: a key read directly on an object that encloses the value. */
  type Kind = 'setting' | 'key' | 'parameter' | 'variable' | 'inner';

  /** A use of the value itself (for an enclosing object, its keys' own reads count instead). */
  const use = (expr: ts.Node, rest: string[], trace: Trace): boolean => {
    if (rest.length > 0) return false;
    trace.uses.push(where(expr));
    return true;
  };

  /**
   * Where the value read at `expr` goes: a hand-off to follow, or a use. With `rest`, `expr` holds
   * an object that encloses the value at those keys. True when the value ends well: used, or
   * recorded in a result type outside the consuming code.
   */
  const flow = (expr: ts.Node, rest: string[], trace: Trace, leafDecl: Decl): boolean => {
    let node: ts.Node = expr;
    while (node.parent && (WRAPPERS.has(node.parent.kind) || isPassThrough(node.parent, node, rest))) node = node.parent;
    const parent = node.parent;
    if (!parent || (ts.isBinaryExpression(parent) && parent.left === node && isAssignment(parent.operatorToken.kind))) return false;
    // `this.limit = value`: handed to that field (or variable).
    if (ts.isBinaryExpression(parent) && parent.right === node && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
      const target = parent.left;
      const name = ts.isPropertyAccessExpression(target) ? target.name : ts.isIdentifier(target) ? target : undefined;
      const decls = declsOf(name && checker.getSymbolAtLocation(name)).filter(inProject);
      if (decls.length === 0) return use(expr, rest, trace);
      return follow(decls, `${where(parent)} -> ${ts.isPropertyAccessExpression(target) ? `${ownerOf(decls[0]!)}.` : ''}${name!.getText()}`, trace, leafDecl, ts.isPropertyAccessExpression(target) ? 'key' : 'variable', rest);
    }
    if (ts.isPropertyAssignment(parent) || ts.isShorthandPropertyAssignment(parent)) {
      if (ts.isPropertyAssignment(parent) && parent.initializer !== node) return false;
      const key = ts.isIdentifier(parent.name) || ts.isStringLiteral(parent.name) ? parent.name.text : '?';
      return intoKey(parent.parent as ts.ObjectLiteralExpression, key, rest, expr, trace, leafDecl);
    }
    // `{ ...base }`: the keys of `base` become the literal's.
    if (ts.isSpreadAssignment(parent) && rest.length > 0) return intoKey(parent.parent as ts.ObjectLiteralExpression, rest[0]!, rest.slice(1), expr, trace, leafDecl);
    if (ts.isVariableDeclaration(parent) && parent.initializer === node) {
      if (ts.isIdentifier(parent.name)) return follow([parent], `${where(parent)} -> const ${parent.name.text}`, trace, leafDecl, 'variable', rest);
      return use(expr, rest, trace);
    }
    if ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.arguments?.includes(node as ts.Expression)) {
      const index = parent.arguments.indexOf(node as ts.Expression);
      const declaration = checker.getResolvedSignature(parent)?.getDeclaration();
      // A function with a body is followed into; an interface's method or a library's is a use.
      const withBody = declaration !== undefined && inProject(declaration) && (declaration as ts.FunctionLikeDeclarationBase).body !== undefined;
      const param = withBody ? declaration.parameters[index] : undefined;
      // Handed to code that only presents or records it (report, results): an end, not a use.
      if (param && !isConsumer(param)) return true;
      if (param && ts.isIdentifier(param.name) && !param.dotDotDotToken) {
        return follow([param], `${where(parent)} -> parameter ${param.name.text}`, trace, leafDecl, 'parameter', rest);
      }
      return use(expr, rest, trace);
    }
    if (ts.isReturnStatement(parent) || (ts.isArrowFunction(parent) && parent.body === node)) {
      const fn = ts.isReturnStatement(parent) ? ts.findAncestor(parent, ts.isFunctionLike) : parent;
      const sym = fn && functionSymbol(fn);
      if (sym) return followCalls(declsOf(sym), rest, trace, leafDecl);
      // `list.map((p) => ({ ... }))`: what the callback returns are the elements of the new list.
      const call = fn?.parent;
      if (call && ts.isCallExpression(call) && ts.isPropertyAccessExpression(call.expression) && MAPPERS.has(call.expression.name.text)) {
        return flow(call, rest, trace, leafDecl);
      }
      return use(expr, rest, trace);
    }
    // Any other expression computes with the value.
    return use(expr, rest, trace);
  };

  /** The value (or, with `rest`, an object enclosing it) becomes `key` of an object literal. */
  function intoKey(literal: ts.ObjectLiteralExpression, key: string, rest: string[], expr: ts.Node, trace: Trace, leafDecl: Decl): boolean {
    const own = (d: Decl) => d.getSourceFile() === literal.getSourceFile() && d.pos >= literal.pos && d.end <= literal.end;
    // A literal checked against its own inferred type (a callback's result) has no type to go by.
    const props = contextualProps(literal, key).filter((p) => !(p.declarations ?? []).some(own));
    const declared = [...new Set(props.flatMap((p) => declsOf(p)))];
    // A key of a library's or node's own options, or of a mapped type (Record<'a' | 'b', T>): a use.
    if (props.length > 0 && declared.every((d) => !inProject(d))) return use(expr, rest, trace);
    const decls = declared.filter(inProject);
    // A key of a map (an index signature): whatever reads the map reads it.
    if (decls.length === 0 && indexed(literal)) return use(expr, rest, trace);
    // Options of a library call whose types the checker cannot pin down (generic overloads): a use.
    if (decls.length === 0 && libraryArgument(literal)) return use(expr, rest, trace);
    if (decls.length === 0) {
      // A literal of no declared type: the value travels inside it, wherever the literal goes.
      if (flow(literal, [key, ...rest], trace, leafDecl)) return true;
      if (isConsumer(expr)) trace.untyped.push(`${where(expr)} -> key \`${key}\` of an object of no declared type`);
      return false;
    }
    return follow(decls, `${where(expr)} -> ${ownerOf(decls[0]!)}.${key}`, trace, leafDecl, 'key', rest);
  }

  /** `key` of the type an object literal is checked against (of each member of a union). */
  function contextualProps(literal: ts.ObjectLiteralExpression, key: string): ts.Symbol[] {
    return contextualParts(literal)
      .map((t) => checker.getPropertyOfType(t, key))
      .filter((p): p is ts.Symbol => p !== undefined);
  }

  function contextualParts(literal: ts.ObjectLiteralExpression): ts.Type[] {
    const contextual = checker.getContextualType(literal);
    return contextual ? (contextual.isUnion() || contextual.isIntersection() ? contextual.types : [contextual]) : [];
  }

  function libraryArgument(literal: ts.ObjectLiteralExpression): boolean {
    let node: ts.Node = literal;
    while (node.parent && WRAPPERS.has(node.parent.kind)) node = node.parent;
    const call = node.parent;
    if (!call || !(ts.isCallExpression(call) || ts.isNewExpression(call)) || !call.arguments?.includes(node as ts.Expression)) return false;
    const declaration = checker.getResolvedSignature(call)?.getDeclaration();
    return declaration !== undefined && !inProject(declaration);
  }

  function indexed(literal: ts.ObjectLiteralExpression): boolean {
    return contextualParts(literal).some((t) => checker.getIndexInfoOfType(t, ts.IndexKind.String) !== undefined);
  }

  /** `a ?? b`, `c ? a : b`, `a * 1000 + i`: a value derived from the operand goes on (text made from it is a use). */
  function isPassThrough(parent: ts.Node, child: ts.Node, rest: string[]): boolean {
    if (ts.isConditionalExpression(parent)) return parent.whenTrue === child || parent.whenFalse === child;
    if (rest.length > 0) return false;
    if (ts.isPrefixUnaryExpression(parent)) return parent.operator === ts.SyntaxKind.MinusToken || parent.operator === ts.SyntaxKind.PlusToken;
    if (!ts.isBinaryExpression(parent)) return false;
    const op = parent.operatorToken.kind;
    return (
      op === ts.SyntaxKind.QuestionQuestionToken || op === ts.SyntaxKind.BarBarToken || (op === ts.SyntaxKind.AmpersandAmpersandToken && parent.right === child) ||
      op === ts.SyntaxKind.PlusToken || op === ts.SyntaxKind.MinusToken || op === ts.SyntaxKind.AsteriskToken || op === ts.SyntaxKind.SlashToken ||
      op === ts.SyntaxKind.PercentToken || op === ts.SyntaxKind.AsteriskAsteriskToken
    );
  }

  function isAssignment(kind: ts.SyntaxKind): boolean {
    return kind >= ts.SyntaxKind.FirstAssignment && kind <= ts.SyntaxKind.LastAssignment;
  }

  function ownerOf(d: Decl): string {
    const owner = ts.findAncestor(d.parent, (n) => ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n) || ts.isClassDeclaration(n));
    const name = owner && (owner as ts.InterfaceDeclaration).name;
    return name ? name.text : 'object';
  }

  function functionSymbol(fn: ts.SignatureDeclaration): ts.Symbol | undefined {
    if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn)) && fn.name) return checker.getSymbolAtLocation(fn.name);
    if ((ts.isArrowFunction(fn) || ts.isFunctionExpression(fn)) && (ts.isVariableDeclaration(fn.parent) || ts.isPropertyAssignment(fn.parent))) {
      return checker.getSymbolAtLocation(fn.parent.name);
    }
    return undefined;
  }

  /** Memo per (declaration or call, key path): cycles and shared routes are followed once. */
  function memo(trace: Trace, at: Decl | ts.Node, rest: string[], run: () => boolean): boolean {
    const byPath = trace.done.get(at) ?? new Map<string, boolean | 'pending'>();
    trace.done.set(at, byPath);
    const key = rest.join('.');
    const known = byPath.get(key);
    if (known !== undefined) return known !== false;
    byPath.set(key, 'pending');
    const ok = run();
    byPath.set(key, ok);
    return ok;
  }

  /**
   * Every read of a key, variable or parameter (with `rest`: of an object enclosing the value). A
   * key or parameter of the consuming code that the value reaches and that leads nowhere is a dead
   * end (reported at the deepest one). Result types outside the consuming code, and `outputs`, are
   * records: the value ending there ends well, without being a use.
   */
  function follow(decls: Decl[], hop: string, trace: Trace, leafDecl: Decl, kind: Kind, rest: string[] = []): boolean {
    const recorded = (kind === 'key' || kind === 'inner') && decls.every((d) => !isConsumer(d) || (opts.outputs ?? []).includes(ownerOf(d)));
    return memo(trace, decls[0]!, rest, () => {
      const deadBefore = trace.deadEnds.length;
      let ok = false;
      for (const r of decls.flatMap((d) => refs.get(d) ?? [])) {
        if (isDeclarationSite(r) || !isConsumer(r)) continue;
        if (readAt(r, trace, leafDecl, rest)) ok = true;
      }
      if (rest.length > 0) {
        // `x.key` reads of the enclosing object resolve to the key of its declared type.
        const inner = resolvePath(checker.getTypeAtLocation(decls[0]!), rest);
        // Back in a type that declares the setting's own key: its reads are the setting's own.
        if (inner.includes(leafDecl)) ok = true;
        else if (inner.length > 0 && follow(inner, `${hop}.${rest.join('.')}`, trace, leafDecl, 'inner')) ok = true;
      }
      if (ok || recorded) return true;
      const deeper = trace.deadEnds.length > deadBefore;
      // An object handed on whole need not have every key read where it lands: only the value itself can end dead.
      // Keys of declared types (messages, contexts, options) and parameters; a class's own field is its business.
      const declaredRoute = decls.some((d) => isConsumer(d) && (ts.isPropertySignature(d) || ts.isParameter(d)));
      if (!deeper && rest.length === 0 && (kind === 'key' || kind === 'parameter') && declaredRoute) trace.deadEnds.push(`${hop}, which nothing reads`);
      return false;
    });
  }

  /** Calls of a function: the value returned is the call expression's. */
  function followCalls(decls: Decl[], rest: string[], trace: Trace, leafDecl: Decl): boolean {
    let ok = false;
    for (const r of decls.flatMap((d) => refs.get(d) ?? [])) {
      const callee = ts.isIdentifier(r) && ts.isPropertyAccessExpression(r.parent) && r.parent.name === r ? r.parent : r;
      const call = callee.parent;
      if (!call || !ts.isCallExpression(call) || call.expression !== callee || !isConsumer(call)) continue;
      if (memo(trace, call, rest, () => flow(call, rest, trace, leafDecl))) ok = true;
    }
    return ok;
  }

  function readAt(r: ts.Node, trace: Trace, leafDecl: Decl, rest: string[]): boolean {
    if (ts.isBindingElement(r)) {
      if (ts.isIdentifier(r.name)) return follow([r], `${where(r)} -> const ${r.name.text}`, trace, leafDecl, 'variable', rest);
      return use(r, rest, trace);
    }
    return flow(r, rest, trace, leafDecl);
  }

  // ------------------------------------------------------------------ every leaf
  const out: SettingUse[] = [];
  for (const leaf of leaves.values()) {
    const trace: Trace = { uses: [], deadEnds: [], untyped: [], done: new Map() };
    follow([leaf.decl], leaf.key, trace, leaf.decl, 'setting');
    // Objects that hold the key, handed on whole: the key travels inside them.
    for (const a of leaf.ancestors) follow(a.decls, `${leaf.key} (inside ${a.rest.join('.')})`, trace, leaf.decl, 'setting', a.rest);
    out.push({ key: leaf.key, declared: where(leaf.decl), usedAt: trace.uses[0], deadEnds: [...new Set(trace.deadEnds)], untyped: [...new Set(trace.untyped)] });
  }
  return out;
}
