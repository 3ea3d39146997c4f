// The text a UI source file can put on a screen (issue 44: the glossary applies to every screen):
// JSX text, the text attributes a person reads (title, placeholder, aria-label, alt, label) and
// string literals — but not what is code: imports, object keys, comparisons (`status ===
// "corrupt"`), switch cases, type names, test ids, class names, commands and event names. Read with
// the TypeScript parser, so a comment or an identifier is never taken for words. For tests.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

export type Said = { file: string; line: number; text: string };

/** Attributes whose value is read by a person. */
const TEXT_ATTRIBUTES = new Set(["title", "placeholder", "aria-label", "alt", "label", "aria-description"]);

/** Every .ts/.tsx source under `dir` but tests, test helpers and the generated bindings. */
export function uiSources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === "test" ? [] : uiSources(p);
    return /\.tsx?$/.test(n) && !/\.test\./.test(n) && n !== "bindings.ts" && !/fixtures/.test(n) ? [p] : [];
  });
}

function isCode(node: ts.Node): boolean {
  const parent = node.parent;
  if (!parent) return false;
  if (ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent) || ts.isExternalModuleReference(parent)) return true;
  if (ts.isLiteralTypeNode(parent)) return true;
  if (ts.isPropertyAssignment(parent) && parent.name === node) return true;
  if (ts.isPropertySignature(parent) || ts.isEnumMember(parent)) return true;
  if (ts.isElementAccessExpression(parent)) return true;
  if (ts.isCaseClause(parent)) return true;
  if (ts.isBinaryExpression(parent)) {
    const op = parent.operatorToken.kind;
    if (op === ts.SyntaxKind.EqualsEqualsEqualsToken || op === ts.SyntaxKind.ExclamationEqualsEqualsToken || op === ts.SyntaxKind.InKeyword) return true;
  }
  if (ts.isJsxAttribute(parent)) return !TEXT_ATTRIBUTES.has(parent.name.getText());
  if (ts.isJsxExpression(parent) && parent.parent && ts.isJsxAttribute(parent.parent)) return !TEXT_ATTRIBUTES.has(parent.parent.name.getText());
  if (ts.isCallExpression(parent)) {
    const callee = parent.expression.getText();
    // Commands, events, storage keys, DOM lookups and code-shaped helpers.
    if (/(^|\.)(invoke|listen|emit|getItem|setItem|removeItem|querySelector|querySelectorAll|getElementById|getAttribute|setAttribute|includes|startsWith|endsWith|split|join|replace|replaceAll|test|match|indexOf|padStart|toLocaleString|localeCompare|addEventListener|removeEventListener|has|get|set|add|delete)$/.test(callee)) return true;
    if (/^(RegExp|require|keys\.)/.test(callee)) return true;
  }
  return false;
}

/** What `file` can put on a screen, line by line. */
export function screenText(file: string, root: string): Said[] {
  const src = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true, file.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const out: Said[] = [];
  const say = (node: ts.Node, text: string) => {
    const t = text.replace(/\s+/g, " ").trim();
    if (t !== "") out.push({ file: relative(root, file), line: src.getLineAndCharacterOfPosition(node.getStart()).line + 1, text: t });
  };
  const walk = (node: ts.Node) => {
    if (ts.isJsxText(node)) say(node, node.text);
    else if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && !isCode(node)) say(node, node.text);
    else if (ts.isTemplateExpression(node) && !isCode(node)) {
      // The template's words with each ${…} as "…": "${n} bytes" reads "… bytes".
      say(node, [node.head.text, ...node.templateSpans.map((s) => `… ${s.literal.text}`)].join(""));
    }
    ts.forEachChild(node, walk);
  };
  walk(src);
  return out;
}

/** What every UI source can put on a screen. */
export function allScreenText(root: string): Said[] {
  return uiSources(root).flatMap((f) => screenText(f, root));
}
