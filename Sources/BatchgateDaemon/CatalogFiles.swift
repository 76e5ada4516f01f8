#if canImport(Glibc)
import Glibc
#endif
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

    private static func read(_ path: String) throws(LoadError) -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LoadError(description: "cannot open the catalog file \(path): \(String(cString: strerror(errno)))") }
        defer { System.close(fd) }
        do {
            return try System.readAll(fd, describing: path)
        } catch {
            throw LoadError(description: "cannot read the catalog file \(path): \(String(cString: strerror(error.errno)))")
        }
    }
}
