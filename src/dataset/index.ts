/** The JSONL dataset core: parsing, validation, field access, row identity and byte-preserving writes. */
export * from './types';
export {
  getField,
  getFieldAt,
  splitFieldPath,
  rowIdentity,
  textIdentity,
  idFieldValue,
  isPlainObject,
  compileFields,
  TEXT_IDENTITY_PREFIX,
  type CompiledFields,
} from './fields';
export {
  DatasetParser,
  duplicateIdProblem,
  parseDatasetText,
  readDatasetFile,
  streamDataset,
  readLines,
  readLineBatches,
  inferLabelSet,
  type LineResult,
  type SourceLine,
} from './parse';
export { MAX_LABEL_LENGTH, labelLengthProblem, labelListProblem, parseLabelList } from './labels';
export { setFieldInLine, applyRowEditsToFile, writeFileAtomic, type RowEdit } from './edit';
export { findJsonSyntaxError, JsonScanError } from './jsonScan';
export { IncrementalDatasetValidator, lineCountOf, type LineChange } from './incremental';
