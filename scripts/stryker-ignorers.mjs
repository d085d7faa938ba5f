// Stryker ignorers.
//
// ErrorMessages: mutants in the text of error messages are not tested. The project's tests
// assert an error's class and `code`, never its message (the message is for people; the code is the
// contract), so a mutant that only changes message text cannot be killed by a test that follows the
// rules — it is equivalent by construction. Ignored, and counted apart from the score:
//   - string and template literals passed as the message of `new <Name>Error(…)` (errors.ts: the
//     argument after the role/url/code, or the only argument; `{ cause }` is not text and is kept);
//   - string and template literals passed to a same-module function or method parameter named
//     `what`, `message` or `reason` (the guards in trust/metadata.ts, the JSON parser's `fail`).
// A literal that decides behaviour — a role name, an error code, a hash algorithm — is never in
// one of those places, and stays mutated.

//
// StoreFloorsOnly: in the store modules (src/cache: any module with a class implementing TrustStore,
// AtomicTrustStore or ResultCache), only the floor logic is mutated — putMetadata, putAll and
// getVersions of each TrustStore, where the rollback floors are read and raised, the directory
// store's `plan` (the index after a write: floors only go up, rotated keys drop theirs) and
// `applyFloor` (the floor rule the memory and staging stores share). Connection
// handling, result caches and file plumbing are out of the mutation scope. (Told by content, not file name: Stryker does not give ignorers the
// file name.)

import { declareValuePlugin, PluginKind } from '@stryker-mutator/api/plugin';

const MESSAGE_PARAMETERS = new Set(['what', 'message', 'reason']);
// errors.ts classes whose first constructor argument is the message itself
const MESSAGE_FIRST = new Set(['Error', 'TypeError', 'ConfigError', 'ManifestMismatchError', 'UnsupportedError']);

function parameterName(fn, index) {
  const param = fn?.params?.[index];
  if (!param) return undefined;
  const inner = param.type === 'TSParameterProperty' ? param.parameter : param;
  const id = inner.type === 'AssignmentPattern' ? inner.left : inner;
  return id.type === 'Identifier' ? id.name : undefined;
}

/** The function a call in this module goes to, when it can be told without running the code. */
function calledFunction(call) {
  const callee = call.node.callee;
  if (callee.type === 'Identifier') {
    const node = call.scope.getBinding(callee.name)?.path.node;
    return node?.type === 'VariableDeclarator' ? node.init : node;
  }
  if (callee.type === 'MemberExpression' && callee.object.type === 'ThisExpression' && callee.property.type === 'Identifier') {
    const body = call.findParent((p) => p.isClassBody());
    return body?.node.body.find((m) => m.type === 'ClassMethod' && m.key.type === 'Identifier' && m.key.name === callee.property.name);
  }
  return undefined;
}

function isErrorMessage(call, index) {
  const callee = call.node.callee;
  if (!call.isNewExpression() || callee.type !== 'Identifier' || !callee.name.endsWith('Error')) return false;
  return MESSAGE_FIRST.has(callee.name) ? index === 0 : index >= 1;
}

const FLOOR_METHODS = new Set(['putMetadata', 'putAll', 'getVersions']);
const FLOOR_FUNCTIONS = new Set(['plan', 'applyFloor']);
const TRUST_STORES = new Set(['TrustStore', 'AtomicTrustStore']);
const STORE_INTERFACES = new Set([...TRUST_STORES, 'ResultCache']);
const storeModules = new WeakMap();

const classOf = (node) => (node?.type === 'ExportNamedDeclaration' || node?.type === 'ExportDefaultDeclaration' ? node.declaration : node);
const implemented = (cls) => (cls?.implements ?? []).map((i) => i.expression?.name ?? i.id?.name);

function isStoreModule(program) {
  let known = storeModules.get(program.node);
  if (known === undefined) {
    known = program.node.body.some((statement) => {
      const cls = classOf(statement);
      return cls?.type === 'ClassDeclaration' && implemented(cls).some((name) => STORE_INTERFACES.has(name));
    });
    storeModules.set(program.node, known);
  }
  return known;
}

function outsideFloorLogic(path) {
  const program = path.findParent((p) => p.isProgram());
  if (!program || !isStoreModule(program)) return false;
  if (path.parentPath?.isProgram()) {
    const declared = classOf(path.node);
    if (declared?.type === 'FunctionDeclaration' && FLOOR_FUNCTIONS.has(declared.id?.name)) return false;
    return !path.isImportDeclaration() && declared?.type !== 'ClassDeclaration';
  }
  if (!(path.isClassMethod() || path.isClassProperty() || path.isClassPrivateMethod() || path.isClassPrivateProperty())) return false;
  const cls = path.parentPath.parentPath?.node;
  return !(implemented(cls).some((name) => TRUST_STORES.has(name)) && FLOOR_METHODS.has(path.node.key?.name));
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'StoreFloorsOnly', {
    shouldIgnore(path) {
      return outsideFloorLogic(path) ? 'Outside the stores\' floor logic (putMetadata, putAll, getVersions, plan)' : undefined;
    },
  }),
  declareValuePlugin(PluginKind.Ignore, 'ErrorMessages', {
    shouldIgnore(path) {
      if (!path.isStringLiteral() && !path.isTemplateLiteral()) return undefined;
      const call = path.parentPath;
      if (!call || !(call.isNewExpression() || call.isCallExpression())) return undefined;
      const index = call.node.arguments.indexOf(path.node);
      if (index < 0) return undefined;
      if (isErrorMessage(call, index)) return 'Error message text: tests assert error class and code, never messages';
      if (MESSAGE_PARAMETERS.has(parameterName(calledFunction(call), index) ?? '')) {
        return 'Message text for an error: tests assert error class and code, never messages';
      }
      return undefined;
    },
  }),
];
