import BatchgateCore

/// Loads the items and packages files named in the config into a ``Catalog``.
public enum CatalogFiles {
    /// A catalog file that cannot be read or used.
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func load(items: String?, packages: String?) throws(LoadError) -> Catalog {
        var itemList: [Catalog.Item] = []
        var packageList: [Catalog.Package] = []
        do {
            if let items { itemList = try CatalogReader.readItems(try read(items), fileName: items) }
            if let packages { packageList = try CatalogReader.readPackages(try read(packages), fileName: packages) }
        } catch let error as CatalogError {
            throw LoadError(description: "catalog file \(error)")
        } catch let error as LoadError {
            throw error
        } catch {
            throw LoadError(description: "\(error)")
        }
        return Catalog(items: itemList, packages: packageList)
    }

    /// The largest catalog file read: 256 MiB. Metrc's exports of a large licensee's items and
    /// packages run to tens of megabytes; this leaves room for years of growth, and is the size
    /// ``CatalogReader`` takes, while a path to something endless is refused before it takes the
    /// memory.
    public static let sizeLimit = 256 << 20

    private static func read(_ path: String) throws(LoadError) -> [UInt8] {
        do {
            return try RegularFile.read(path, limit: sizeLimit)
        } catch {
            var message = error.described(as: "the catalog file \(path)")
            if case .tooLarge = error.problem { message += "; is this the right file?" }
            throw LoadError(description: message)
        }
    }
}
