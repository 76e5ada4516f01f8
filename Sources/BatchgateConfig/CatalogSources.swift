import BatchgateCore
import BatchgateSystem

extension DaemonConfig {
    /// Where the catalog comes from: Metrc's API (`metrc`), kept in a cache in the state root, and
    /// files (Metrc's JSON exports or CSV) laid over it for names local to the facility, or alone.
    /// The `catalog:` section, and the one loader of the files, for the daemon and for
    /// `batchgate check --items --packages` alike.
    public struct CatalogSources: Decodable, Sendable, Equatable {
        /// Metrc's items JSON, or a CSV with the columns Name, Category.
        public var items: String?
        /// Metrc's packages JSON, or a CSV with the columns Tag, Item, Category.
        public var packages: String?
        /// The facility's account at Metrc's API; nil when the catalog comes from the files alone.
        public var metrc: Metrc?

        /// The largest catalog file read: 256 MiB. Metrc's exports of a large licensee's items and
        /// packages run to tens of megabytes; this leaves room for years of growth, and is the size
        /// ``CatalogReader`` takes, while a path to something endless is refused before it takes the
        /// memory.
        static let sizeLimit = 256 << 20

        /// Catalog files at the given paths; nil for none.
        public init(items: String? = nil, packages: String? = nil, metrc: Metrc? = nil) {
            self.items = items
            self.packages = packages
            self.metrc = metrc
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case items, packages, metrc
        }

        /// Reads the settings, each key left out taking its default; see ``DaemonConfig/init(from:)``.
        public init(from decoder: any Decoder) throws {
            let settings = try decoder.settings(keyedBy: CodingKeys.self)
            items = try settings.optionalSetting(.items, .path(to: "the items file (JSON or CSV)"))
            packages = try settings.optionalSetting(.packages, .path(to: "the packages file (JSON or CSV)"))
            metrc = try settings.decodeIfPresent(Metrc.self, forKey: .metrc)
        }

        /// A catalog file that cannot be read or used.
        public struct LoadError: Error, Sendable, CustomStringConvertible {
            /// Whether the file could not be read at all (missing, not a regular file, too large),
            /// rather than read and found not to be a catalog: `check` exits 66 for the one, 64 for
            /// the other.
            public var isUnreadable: Bool
            public var description: String
        }

        /// The catalog the files hold: no items or packages for a file not named.
        /// - Throws: ``LoadError`` naming the file, and its line for one that is not a catalog.
        public func load() throws(LoadError) -> Catalog {
            var itemList: [Catalog.Item] = []
            var packageList: [Catalog.Package] = []
            do {
                if let items { itemList = try CatalogReader.readItems(try Self.read(items), fileName: items) }
                if let packages { packageList = try CatalogReader.readPackages(try Self.read(packages), fileName: packages) }
            } catch let error as CatalogError {
                throw LoadError(isUnreadable: false, description: "catalog file \(error)")
            } catch let error as LoadError {
                throw error
            } catch {
                throw LoadError(isUnreadable: false, description: "\(error)")
            }
            return Catalog(items: itemList, packages: packageList)
        }

        private static func read(_ path: String) throws(LoadError) -> [UInt8] {
            do {
                return try RegularFile.read(path, limit: sizeLimit)
            } catch {
                var message = error.described(as: "the catalog file \(path)")
                if case .tooLarge = error.problem { message += "; is this the right file?" }
                throw LoadError(isUnreadable: true, description: message)
            }
        }
    }
}
