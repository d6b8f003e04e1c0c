// Prints, as JSON, the members js/peersocket.d.ts declares for each page-API class,
// read with the TypeScript compiler API (the same checker `tsc` uses).
//
//   node declared_members.cjs TYPESCRIPT_DIR DTS_PATH
//
// For each class: {extends, constructible, static: {name: kind}, instance: {name: kind}},
// kind being "method", "property" (writable) or "readonly". Members inherited from
// EventTarget (the typed addEventListener / removeEventListener overloads) are left
// out: `extends` says whether the class is an EventTarget.
'use strict'

const path = require('path')
const ts = require(path.resolve(process.argv[2]))
const dts = path.resolve(process.argv[3])
const CLASSES = ['PeerSocket', 'PeerSocketSwarm', 'PeerSocketInfo']

const program = ts.createProgram([dts], {
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts', 'lib.dom.asynciterable.d.ts'],
  strict: true,
  noEmit: true,
  types: []
})
const diagnostics = ts.getPreEmitDiagnostics(program)
if (diagnostics.length) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' }
  process.stderr.write(ts.formatDiagnostics(diagnostics, host))
  process.exit(2)
}
const checker = program.getTypeChecker()
const source = program.getSourceFile(dts)

function find (kind, name) {
  for (const statement of source.statements) {
    if (kind === 'interface' && ts.isInterfaceDeclaration(statement) && statement.name.text === name) return statement
    if (kind === 'var' && ts.isVariableStatement(statement)) {
      for (const decl of statement.declarationList.declarations) {
        if (decl.name.getText(source) === name) return decl
      }
    }
  }
  throw new Error(`${path.basename(dts)} declares no ${kind} ${name}`)
}

function isReadonly (decl) {
  return (ts.getCombinedModifierFlags(decl) & ts.ModifierFlags.Readonly) !== 0
}

const EVENT_TARGET = new Set(['addEventListener', 'removeEventListener', 'dispatchEvent'])

function members (type, skip) {
  const out = {}
  for (const symbol of checker.getPropertiesOfType(type)) {
    const name = symbol.getName()
    if (skip.has(name)) continue
    const decls = (symbol.getDeclarations() || []).filter((d) => d.getSourceFile() === source)
    if (decls.length === 0) continue // lib.dom's, e.g. an EventTarget member not redeclared
    const decl = decls[0]
    if (ts.isMethodSignature(decl) || ts.isMethodDeclaration(decl)) out[name] = 'method'
    else if (ts.isGetAccessorDeclaration(decl) && !decls.some(ts.isSetAccessorDeclaration)) out[name] = 'readonly'
    else out[name] = isReadonly(decl) ? 'readonly' : 'property'
  }
  return out
}

const result = {}
for (const name of CLASSES) {
  const iface = find('interface', name)
  const heritage = (iface.heritageClauses || []).flatMap((c) => c.types.map((t) => t.expression.getText(source)))
  const instanceType = checker.getTypeAtLocation(iface)
  const staticDecl = find('var', name)
  const staticType = checker.getTypeAtLocation(staticDecl)
  const constructs = staticType.getConstructSignatures()
  result[name] = {
    extends: heritage.includes('EventTarget') ? 'EventTarget' : 'Object',
    // a construct signature that returns `never` says "throws"
    constructible: constructs.some((sig) => !(checker.getReturnTypeOfSignature(sig).flags & ts.TypeFlags.Never)),
    static: members(staticType, new Set(['prototype'])),
    instance: members(instanceType, EVENT_TARGET)
  }
}
process.stdout.write(JSON.stringify(result, null, 1) + '\n')
