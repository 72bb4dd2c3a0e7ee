import { SchemaAST as AST } from "effect";

/**
 * The `_tag` of each member of a tagged-union Schema (through filters and defaults), for tests that
 * check a hand-listed set of choices against the Schema it must equal.
 */
export const tagsOf = (ast: AST.AST): string[] => {
  if (AST.isUnion(ast)) return ast.types.flatMap(tagsOf);
  if (AST.isRefinement(ast)) return tagsOf(ast.from);
  if (AST.isTransformation(ast)) return tagsOf(ast.to);
  if (AST.isTypeLiteral(ast)) {
    const tag = ast.propertySignatures.find((p) => p.name === "_tag")?.type;
    return tag !== undefined && AST.isLiteral(tag) ? [String(tag.literal)] : [];
  }
  return [];
};
