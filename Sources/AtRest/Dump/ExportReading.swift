/// How inputs are read.
public struct ReadOptions: Sendable {
    /// Read a snapshot whose sha256 trailer does not match (like
    /// `etcdctl snapshot restore --skip-hash-check`); the report says so.
    public var skipHashCheck = false
    /// Recover what a damaged snapshot still holds instead of failing; the export is
    /// then `partial` (see `SnapshotSalvage`). An input no format recognises is tried
    /// as a snapshot whose meta pages are destroyed.
    public var salvage = false
    /// The most bytes copied to a temporary file from an input that cannot be read
    /// twice (standard input, a FIFO) when its format needs that: a snapshot, a
    /// kine database, plain output, anything with `--salvage`. An endless or huge
    /// stream is refused (`dump.too-large`) instead of filling `$TMPDIR`.
    public var spoolLimit: UInt64 = ReadOptions.defaultSpoolLimit

    /// 8 GiB: etcd's suggested maximum for `--quota-backend-bytes`.
    public static let defaultSpoolLimit: UInt64 = 8 << 30

    public init(skipHashCheck: Bool = false, salvage: Bool = false, spoolLimit: UInt64 = ReadOptions.defaultSpoolLimit) {
        self.skipHashCheck = skipHashCheck
        self.salvage = salvage
        self.spoolLimit = spoolLimit
    }
}

/// What was read from one input: provenance (size and sha256 of the exact bytes
/// read, so a report can be tied to the file it came from) and its metadata.
public struct InputReport: Sendable, Hashable {
    /// The input as named on the command line (`<stdin>` for `-`).
    public var name: String
    public var byteCount: UInt64
    public var sha256: [UInt8]
    public var metadata: ExportMetadata

    public init(name: String, byteCount: UInt64, sha256: [UInt8], metadata: ExportMetadata) {
        self.name = name
        self.byteCount = byteCount
        self.sha256 = sha256
        self.metadata = metadata
    }
}

/// The outcome of reading all inputs of one export.
public struct ExportSummary: Sendable {
    public var inputs: [InputReport]
    /// Whether the export holds every key it claims to (see `PaginationCheck`).
    public var completeness: ExportCompleteness

    public init(inputs: [InputReport], completeness: ExportCompleteness) {
        self.inputs = inputs
        self.completeness = completeness
    }
}

/// The entry point of the dump layer: detects each input's format from its
/// content and streams it into a sink with the matching reader.
///
/// Several inputs form ONE export: the pages of a paginated `-w json` (or
/// `-w fields`) export, or several `--hex` / plain outputs of disjoint ranges.
/// Mixing formats, or a snapshot with anything else, is refused
/// (`.inconsistentExport`): a snapshot holds history and the whole keyspace,
/// so combining it with `get` output would double-count keys. Formats are all
/// detected before the first entry is delivered, so such a mistake is caught
/// before the sink sees anything.
public enum ExportReading {
    /// Reads every input (paths, or "-" for stdin) in order into the sink.
    ///
    /// - Parameter progress: bytes read so far over all inputs, and the sum of
    ///   the inputs' sizes when every input is a regular file (nil otherwise).
    /// - Throws: `DumpError` for an input that cannot be read; errors thrown by
    ///   the sink propagate unchanged.
    public static func read(_ inputs: [String], options: ReadOptions = .init(), into sink: inout some DumpSink,
                            progress: ((_ done: UInt64, _ total: UInt64?) -> Void)? = nil) throws -> ExportSummary {
        guard !inputs.isEmpty else {
            throw DumpError(.io, file: "atrest", at: .file, "no input given")
        }
        if inputs.filter({ $0 == "-" }).count > 1 {
            throw DumpError(.io, file: InputFile.stdinDisplayName, at: .file, "standard input is named more than once")
        }

        // Pass 1: detect every format. An input that is not a regular file (stdin,
        // a FIFO, `<(...)`) is read once only: it keeps its stream, peeked bytes included.
        var detected: [(format: ExportFormat, stream: (InputFile, ByteStream)?)] = []
        for path in inputs {
            // Told before opening: opening a FIFO waits for a writer.
            if options.salvage, path != "-", let kind = InputFile.specialKind(path) {
                throw DumpError(.io, file: path, at: .file, "--salvage reads a snapshot saved in a regular file; this is a \(kind)")
            }
            let file = try InputFile(path: path)
            let stream = ByteStream(file)
            let format = try detect(stream, options: options)
            if let first = detected.first?.format {
                if format == .snapshot || first == .snapshot || format == .kine || first == .kine {
                    throw DumpError(.inconsistentExport, file: file.displayName, at: .file,
                                    "a snapshot or kine database must be the only input (got \(inputs.count) inputs)")
                }
                if family(format) != family(first) {
                    throw DumpError(.inconsistentExport, file: file.displayName, at: .file,
                                    "this input is \(format.rawValue) but \(InputFile.displayName(for: inputs[0])) is \(first.rawValue); all inputs must be pages of one export in one format")
                }
            }
            detected.append((format, file.isRegularFile ? nil : (file, stream)))
            if file.isRegularFile { file.close() }
        }

        // Progress total: known only when every input is a regular file.
        var total: UInt64? = 0
        for path in inputs {
            if let size = InputFile.regularFileSize(path), let sum = total { total = sum &+ size } else { total = nil }
        }
        var doneBefore: UInt64 = 0

        var reports: [InputReport] = []
        var pages: [PaginationCheck.Page] = []
        var keys = PageKeyGuard()
        var completeness = ExportCompleteness.complete
        var clusterID: (id: UInt64, input: String)?

        for (index, path) in inputs.enumerated() {
            let expected = detected[index].format
            let file: InputFile
            let stream: ByteStream
            if let kept = detected[index].stream {
                (file, stream) = kept
            } else {
                file = try InputFile(path: path)
                stream = ByteStream(file)
                // The file could have been replaced since detection.
                let format = try detect(stream, options: options)
                guard family(format) == family(expected) else {
                    throw DumpError(.io, file: file.displayName, at: .file, "the file changed while being read (was \(expected.rawValue), now \(format.rawValue))")
                }
            }
            defer { file.close() }
            let base = doneBefore
            if let progress { stream.onRead = { progress(base &+ $0, total) } }

            let report: InputReport
            switch expected {
            case .snapshot, .bboltDB:
                report = try readSnapshot(file: file, stream: stream, options: options, into: &sink, progress: progress, base: base, total: total)
                if let salvage = report.metadata.salvage { completeness = .partial(reason: salvage.summary) }
            case .kine:
                report = try readKine(file: file, stream: stream, options: options, into: &sink)
            case .etcdctlJSON, .gatewayJSON:
                var reader = EtcdJSONReader(stream: stream)
                let result = try reader.read(into: &sink, guard: &keys, firstPageIndex: pages.count + 1)
                pages += result.pages
                report = InputReport(name: file.displayName, byteCount: stream.byteCount, sha256: stream.digest(), metadata: result.metadata)
            case .fields:
                let result = try FieldsReader(stream: stream).read(into: &sink, guard: &keys, firstPageIndex: pages.count + 1)
                pages += result.pages
                report = InputReport(name: file.displayName, byteCount: stream.byteCount, sha256: stream.digest(), metadata: result.metadata)
            case .hex:
                _ = try HexReader(stream: stream).read(into: &sink, guard: &keys)
                var metadata = ExportMetadata(format: .hex)
                metadata.documents = 1
                report = InputReport(name: file.displayName, byteCount: stream.byteCount, sha256: stream.digest(), metadata: metadata)
                completeness = .unverifiable(reason: "etcdctl --hex output carries no count: completeness cannot be checked")
            case .simple:
                report = try readSimple(file: file, stream: stream, options: options, into: &sink, keys: &keys)
                completeness = .unverifiable(reason: "plain etcdctl output carries no count: completeness cannot be checked")
            }

            if let id = report.metadata.clusterID {
                if let known = clusterID, known.id != id {
                    throw DumpError(.inconsistentExport, file: report.name, at: .file,
                                    "cluster_id \(id) differs from \(known.id) in \(known.input): inputs come from different clusters")
                }
                clusterID = (id, report.name)
            }
            reports.append(report)
            doneBefore &+= report.byteCount
        }

        if family(detected[0].format) == .etcdctlJSON || detected[0].format == .fields {
            completeness = PaginationCheck(pages: pages).completeness
        }
        return ExportSummary(inputs: reports, completeness: completeness)
    }

    /// The input's format; with `--salvage`, binary input of no known format is taken
    /// as a snapshot whose meta pages are gone (the salvage scan then decides).
    /// Whether every input is a regular file holding an export read in one pass, in
    /// key order (etcdctl JSON, fields, hex, plain output; not a snapshot, whose live
    /// keys are known only once its whole history is replayed). Looks at the first
    /// bytes only; an input that cannot be opened or recognised answers `false`, and
    /// the full read then reports it.
    public static func isSequentialExport(_ inputs: [String], options: ReadOptions = .init()) -> Bool {
        guard !inputs.isEmpty, !options.salvage else { return false }
        for path in inputs {
            guard path != "-", InputFile.regularFileSize(path) != nil, let file = try? InputFile(path: path) else { return false }
            defer { file.close() }
            guard let format = try? FormatDetector.detect(ByteStream(file)) else { return false }
            switch format {
            case .etcdctlJSON, .gatewayJSON, .fields, .hex, .simple: continue
            case .snapshot, .bboltDB, .kine: return false
            }
        }
        return true
    }

    /// Whether the inputs are one etcd snapshot (or bbolt db) in a regular file, which
    /// `readSnapshotTwice` can read; not with `--salvage`. Looks at the first bytes only.
    public static func isSnapshotFile(_ inputs: [String], options: ReadOptions = .init()) -> Bool {
        guard inputs.count == 1, let path = inputs.first, path != "-", !options.salvage,
              InputFile.regularFileSize(path) != nil, let file = try? InputFile(path: path) else { return false }
        defer { file.close() }
        guard let format = try? FormatDetector.detect(ByteStream(file)) else { return false }
        return format == .snapshot || format == .bboltDB
    }

    /// Reads one snapshot file (`isSnapshotFile`) twice: every revision into `first`,
    /// then every revision again into the sink `makeSecond` makes of it
    /// (`SnapshotReader.readTwice`). The summary is the one `read` gives.
    public static func readSnapshotTwice<First: DumpSink, Second: DumpSink>(
        _ path: String, options: ReadOptions = .init(), into first: inout First, then makeSecond: (inout First) throws -> Second,
        progress: ((_ done: UInt64, _ total: UInt64?) -> Void)? = nil
    ) throws -> (summary: ExportSummary, second: Second) {
        let file = try InputFile(path: path)
        defer { file.close() }
        let format = try detect(ByteStream(file), options: options)
        guard format == .snapshot || format == .bboltDB, file.isRegularFile, !file.isStandardInput, !options.salvage else {
            throw DumpError(.io, file: file.displayName, at: .file, "the file changed while being read (was a snapshot, now \(format.rawValue))")
        }
        let reader = SnapshotReader(path: file.path, displayName: file.displayName, skipHashCheck: options.skipHashCheck)
        let result = try reader.readTwice(into: &first, then: makeSecond, progress: progress.map { report in { report($0, $1) } })
        let report = InputReport(name: file.displayName, byteCount: result.byteCount, sha256: result.sha256, metadata: result.metadata)
        return (ExportSummary(inputs: [report], completeness: .complete), result.second)
    }

    private static func detect(_ stream: ByteStream, options: ReadOptions) throws -> ExportFormat {
        do {
            return try FormatDetector.detect(stream)
        } catch let error as DumpError where options.salvage && error.code == .unknownFormat && error.location != .file {
            return .snapshot
        }
    }

    /// JSON from etcdctl and from the grpc-gateway can be pages of one export.
    private static func family(_ format: ExportFormat) -> ExportFormat {
        switch format {
        case .gatewayJSON: return .etcdctlJSON
        case .bboltDB: return .snapshot
        default: return format
        }
    }

    /// Snapshots are read with `pread` by `SnapshotReader`; stdin is first copied
    /// to a private temporary file (mode 0600, removed afterwards).
    private static func readSnapshot(file: InputFile, stream: ByteStream, options: ReadOptions, into sink: inout some DumpSink,
                                     progress: ((_ done: UInt64, _ total: UInt64?) -> Void)?, base: UInt64, total: UInt64?) throws -> InputReport {
        var spool: SpoolFile?
        defer { spool?.remove() }
        let path: String
        if file.isRegularFile && !file.isStandardInput {
            path = file.path
            file.close()
        } else {
            // Spooling reads the input once; progress then restarts over the copy.
            stream.onRead = nil
            let copy = try SpoolFile(copying: stream, limit: options.spoolLimit)
            spool = copy
            path = copy.path
        }
        let reader = SnapshotReader(path: path, displayName: file.displayName, skipHashCheck: options.skipHashCheck, salvage: options.salvage)
        let result = try reader.read(into: &sink, progress: progress.map { report in
            { done, size in report(base &+ done, total ?? size) }
        })
        return InputReport(name: file.displayName, byteCount: result.byteCount, sha256: result.sha256, metadata: result.metadata)
    }

    /// A kine database is copied, with its `-wal` and `-journal` files, into a
    /// private directory and read there by SQLite (`KineCopy`); the provenance is
    /// the size and sha256 of the database file as given.
    private static func readKine(file: InputFile, stream: ByteStream, options: ReadOptions, into sink: inout some DumpSink) throws -> InputReport {
        let copy = try KineCopy(stream: stream, originalPath: file.isStandardInput ? nil : file.path,
                                limit: file.isRegularFile ? nil : options.spoolLimit)
        defer { copy.remove() }
        let result = try KineReader(path: copy.databasePath, displayName: file.displayName).read(into: &sink)
        return InputReport(name: file.displayName, byteCount: stream.byteCount, sha256: stream.digest(), metadata: result.metadata)
    }

    /// Plain output is checked completely before any entry is delivered, so it
    /// is read twice: a regular file is reopened (and must hash the same), stdin
    /// is spooled to a private temporary file.
    private static func readSimple(file: InputFile, stream: ByteStream, options: ReadOptions, into sink: inout some DumpSink,
                                   keys: inout PageKeyGuard) throws -> InputReport {
        let reader = SimpleReader(name: file.displayName)
        var spool: SpoolFile?
        defer { spool?.remove() }
        let secondPath: String
        let byteCount: UInt64
        let digest: [UInt8]
        if file.isRegularFile && !file.isStandardInput {
            _ = try reader.validate(stream)
            byteCount = stream.byteCount
            digest = stream.digest()
            secondPath = file.path
        } else {
            let copy = try SpoolFile(copying: stream, limit: options.spoolLimit)
            spool = copy
            byteCount = stream.byteCount
            digest = stream.digest()
            let check = try InputFile(path: copy.path)
            defer { check.close() }
            _ = try reader.validate(ByteStream(check, name: file.displayName))
            secondPath = copy.path
        }
        let again = try InputFile(path: secondPath)
        defer { again.close() }
        let second = ByteStream(again, name: file.displayName)
        try reader.deliver(second, into: &sink, guard: &keys)
        guard second.byteCount == byteCount, second.digest() == digest else {
            throw DumpError(.io, file: file.displayName, at: .file, "the file changed between the check and the read")
        }
        var metadata = ExportMetadata(format: .simple)
        metadata.documents = 1
        return InputReport(name: file.displayName, byteCount: byteCount, sha256: digest, metadata: metadata)
    }
}
