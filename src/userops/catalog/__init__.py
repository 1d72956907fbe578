"""The product catalogue (商品目录): products by SKU and their category tree.

``userops.catalog`` owns the warehouse tables ``products`` and ``product_categories``
(``warehouse.tables.OWNERS``); other packages read them through :mod:`userops.catalog.queries`
(Ibis expressions) and :mod:`userops.catalog.service` (product cards for display). Files reach
it through the importer machinery of ``userops.ingest`` (``userops import products FILE``),
which hands the checked rows to :func:`userops.catalog.store.load`. See
docs/decisions/0017-product-catalogue.md.
"""
