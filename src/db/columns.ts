/**
 * A select list of every column of a row type, for a statement that cannot use `*`: a named prepared
 * statement, whose cached plan fails in a running process once a migration changes its result type. The
 * map must name each of the row type's columns, and only those, or it does not compile.
 */
export function columnList<Row>(columns: { [K in keyof Row]-?: true }, alias?: string): string {
  return Object.keys(columns)
    .map((c) => (alias ? `${alias}.${c}` : c))
    .join(', ');
}
