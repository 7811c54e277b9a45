CREATE TABLE registry_state (
	id INTEGER NOT NULL, 
	schema_version INTEGER NOT NULL, 
	generation INTEGER NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE alliances (
	name VARCHAR NOT NULL, 
	revision INTEGER NOT NULL, 
	head VARCHAR NOT NULL, 
	created VARCHAR NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE documents (
	id INTEGER NOT NULL, 
	alliance VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	revision INTEGER NOT NULL, 
	body VARCHAR, 
	etag VARCHAR, 
	deleted BOOLEAN NOT NULL, 
	current BOOLEAN NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (alliance, kind, name, revision)
);

CREATE INDEX ix_documents_current ON documents (alliance, current);

CREATE TABLE changes (
	seq INTEGER NOT NULL, 
	alliance VARCHAR NOT NULL, 
	revision INTEGER NOT NULL, 
	at VARCHAR NOT NULL, 
	actor VARCHAR NOT NULL, 
	action VARCHAR NOT NULL, 
	forced BOOLEAN NOT NULL, 
	documents VARCHAR NOT NULL, 
	previous VARCHAR NOT NULL, 
	hash VARCHAR NOT NULL, 
	PRIMARY KEY (seq), 
	UNIQUE (alliance, revision)
);

CREATE INDEX ix_changes_alliance ON changes (alliance);

CREATE TABLE tokens (
	id INTEGER NOT NULL, 
	hash VARCHAR NOT NULL, 
	role VARCHAR NOT NULL, 
	alliance VARCHAR, 
	partner VARCHAR, 
	name VARCHAR, 
	created VARCHAR NOT NULL, 
	revoked VARCHAR, 
	PRIMARY KEY (id), 
	UNIQUE (hash)
);

