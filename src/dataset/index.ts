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
  lookAlikeHint,
  parseDatasetText,
  readDatasetFile,
  streamDataset,
  streamDatasetText,
  textChunks,
  readLines,
  readLineBatches,
  readLineTexts,
  lineTextsOfText,
  READ_CHUNK_BYTES,
  inferLabelSet,
  type DatasetInput,
  type LineResult,
  type SourceLine,
} from './parse';
export { setFieldInLine, setFieldInLineBytes, applyRowEditsToFile, type RowEdit } from './edit';
export { PEERKD_FOLDER, linkedPeerkdFolder, linkedPeerkdFolderError, writeFileAtomic, OutputAppearedError, processIsAlive, assertNotSameFile, assertOutsidePeerkdFolder, assertReadableFile, assertReadableDatasetFile, NOT_A_REGULAR_DATASET, assertReplaceable, expandHomeFolder, fileError, notFoundReason, isWithinFolder, pathTaken, undecodableBytesReason } from './files';
export { forEachLine } from './lines';
export { RowTextsDigest, rowTextsSha256, rowTextDigest } from './rowTextsDigest';
export { Utf8LineValidator, firstInvalidUtf8LineOfFile } from './utf8';
export { findJsonSyntaxError, JsonScanError, MAX_JSON_DEPTH, TOO_DEEP_MESSAGE, printable } from './jsonScan';
export { INVISIBLE_CHARACTERS, MAX_LABEL_LENGTH, labelLengthProblem, labelListProblem, lookAlikeFold, lookAlikeKey, lookAlikeLabel, parseLabelList } from './labels';
export { foldRepeatedLabelProblems, IncrementalDatasetValidator, lineCountOf, type LineChange } from './incremental';
export {
  FIELD_GUESS_SAMPLE_ROWS,
  absentTextMessage,
  candidatesFor,
  fieldSetting,
  foldMissingFieldProblems,
  guessFields,
  isAbsentTextProblem,
  missingFieldAdvice,
  missingLabelFieldsMessage,
  missingTextFieldMessage,
  missingTextFieldProblem,
  missingTextFieldProblemOf,
  missingTextFixes,
  missingLabelFixes,
  type MissingFieldCounts,
  sampleRows,
  type FieldCandidates,
  type FieldFix,
  type MappedField,
} from './fieldGuess';
