INSERT INTO registry_state (id, schema_version, generation) VALUES (1, 1, 11);
INSERT INTO alliances (name, revision, head, created) VALUES ('condominium', 3, '8824731b3b7939f18f1823ddb7a65b78d0b0ff0a53a3b1ef9f33382f2e6d1e9b', '2026-12-02T01:11:49.114+00:00');
INSERT INTO alliances (name, revision, head, created) VALUES ('metro-home', 4, '86721d6edee0cfeb98b25206b4e48ec5eff42ea6f23321abee491cbe64991aba', '2026-12-02T01:11:49.154+00:00');
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (1, 'condominium', 'Alliance', 'condominium', 1, '{
  "kind": "Alliance",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "condominium",
    "title": "Riverside Towers residents'' services"
  },
  "spec": {
    "authority": "owners-council",
    "authorities": [
      {
        "name": "owners-council",
        "title": "Owners'' council",
        "email": "council@riverside.example"
      }
    ],
    "dimensions": {
      "category": {
        "laundry": [
          "machine-broken",
          "payment-card",
          "lost-item",
          "opening-hours"
        ],
        "cleaning": [
          "common-areas",
          "stairwells",
          "waste-rooms",
          "windows"
        ],
        "security": [
          "access-badge",
          "intercom",
          "cctv-request",
          "incident-report"
        ],
        "maintenance": {
          "plumbing": [
            "leak",
            "no-hot-water",
            "blocked-drain"
          ],
          "electrical": [
            "power-outage",
            "lighting",
            "ev-charger"
          ],
          "lifts": [
            "lift-stuck",
            "lift-out-of-service"
          ],
          "heating": [
            "no-heating",
            "noisy-radiator"
          ]
        },
        "management": [
          "service-charge",
          "noise-neighbour",
          "parking",
          "move-in"
        ]
      },
      "building": [
        "tower-a",
        "tower-b",
        "garage"
      ],
      "channel": [
        "concierge",
        "portal",
        "phone"
      ]
    },
    "customerFace": [
      {
        "where": {},
        "partner": "riverside-management"
      }
    ],
    "faceAuthority": {
      "compelResponseWithin": "PT4H",
      "creditUpTo": {
        "amount": 20.0,
        "currency": "EUR"
      },
      "dispatch": true
    },
    "escalationChains": {
      "contractor": [
        {
          "after": "PT4H",
          "to": "site-supervisor"
        },
        {
          "after": "P1D",
          "to": "authority:owners-council"
        }
      ]
    }
  }
}', '"f69f3a54e6d8ba2580e1190a0cf3ea8d"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (2, 'condominium', 'Partner', 'brightclean', 1, '{
  "kind": "Partner",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "brightclean",
    "alliance": "condominium"
  },
  "spec": {
    "legalName": "BrightClean Facility Services",
    "contacts": [
      {
        "name": "site-supervisor",
        "title": "Site supervisor",
        "email": "riverside@brightclean.example"
      }
    ],
    "endpoints": [
      {
        "name": "jobs",
        "type": "webhook",
        "address": "https://api.brightclean.example/jobs"
      }
    ]
  }
}', '"6580f8d51289ed8421589354e2195acf"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (3, 'condominium', 'Partner', 'fixit', 1, '{
  "kind": "Partner",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "fixit",
    "alliance": "condominium",
    "title": "FixIt maintenance"
  },
  "spec": {
    "legalName": "FixIt Building Maintenance Ltd",
    "contacts": [
      {
        "name": "site-supervisor",
        "title": "Maintenance planner",
        "email": "planner@fixit.example"
      }
    ],
    "endpoints": [
      {
        "name": "jobs",
        "type": "queue",
        "address": "amqps://mq.fixit.example/riverside"
      }
    ]
  }
}', '"212a9da958f91c7bbca71e3e66d1b3c7"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (4, 'condominium', 'Partner', 'guardian', 1, '{
  "kind": "Partner",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "guardian",
    "alliance": "condominium",
    "title": "Guardian security"
  },
  "spec": {
    "legalName": "Guardian Security Ltd",
    "contacts": [
      {
        "name": "site-supervisor",
        "title": "Control room lead",
        "email": "control@guardian.example",
        "phone": "+44 161 000 0000"
      }
    ],
    "endpoints": [
      {
        "name": "tickets",
        "type": "tmf621",
        "address": "https://guardian.example/tmf-api/troubleTicket/v4"
      }
    ]
  }
}', '"8676aa08e6ae26a6698a70603213af68"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (5, 'condominium', 'Partner', 'riverside-management', 1, '{
  "kind": "Partner",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "riverside-management",
    "alliance": "condominium"
  },
  "spec": {
    "legalName": "Riverside Property Management Ltd",
    "contacts": [
      {
        "name": "site-supervisor",
        "title": "Building manager",
        "email": "manager@riverside.example"
      }
    ],
    "endpoints": [
      {
        "name": "portal",
        "type": "webhook",
        "address": "https://portal.riverside.example/hooks/requests"
      }
    ]
  }
}', '"5aae171633f6cec76f2eaff9d06636e6"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (6, 'condominium', 'Partner', 'sudsy', 1, '{
  "kind": "Partner",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "sudsy",
    "alliance": "condominium",
    "title": "Sudsy laundry"
  },
  "spec": {
    "legalName": "Sudsy Laundry Services Ltd",
    "contacts": [
      {
        "name": "site-supervisor",
        "title": "Route technician lead",
        "email": "service@sudsy.example"
      }
    ],
    "endpoints": [
      {
        "name": "mail",
        "type": "email",
        "address": "mailto:service@sudsy.example"
      }
    ]
  }
}', '"815dbebc50014532406e642bc242c7f7"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (7, 'condominium', 'Contract', 'brightclean-cleaning', 1, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "brightclean-cleaning",
    "alliance": "condominium"
  },
  "spec": {
    "partner": "brightclean",
    "effective": {
      "from": "2025-02-01",
      "until": "2027-02-01"
    },
    "scope": [
      {
        "where": {
          "category": [
            "cleaning"
          ]
        }
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "cleaning"
          ]
        }
      }
    ],
    "consulted": [
      {
        "partner": "riverside-management",
        "respondWithin": "PT4H"
      }
    ],
    "handoffs": [
      {
        "endpoint": "jobs",
        "mode": "retain",
        "acknowledgeWithin": "PT4H",
        "resolveWithin": "P1D"
      }
    ],
    "escalation": "contractor",
    "grantsFace": {
      "compelResponseWithin": "PT4H",
      "creditUpTo": {
        "amount": 20.0,
        "currency": "EUR"
      },
      "dispatch": true
    }
  }
}', '"46671b208f399a7b53d4cd9a8465d0a1"', FALSE, FALSE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (8, 'condominium', 'Contract', 'fixit-maintenance', 1, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "fixit-maintenance",
    "alliance": "condominium"
  },
  "spec": {
    "partner": "fixit",
    "effective": {
      "from": "2024-01-01",
      "until": "2028-01-01"
    },
    "scope": [
      {
        "where": {
          "category": [
            "maintenance"
          ]
        },
        "except": [
          {
            "category": [
              "ev-charger"
            ]
          }
        ]
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "maintenance"
          ]
        },
        "except": [
          {
            "category": [
              "ev-charger"
            ]
          }
        ]
      }
    ],
    "consulted": [
      {
        "partner": "riverside-management",
        "respondWithin": "PT2H"
      }
    ],
    "handoffs": [
      {
        "endpoint": "jobs",
        "mode": "retain",
        "acknowledgeWithin": "PT2H",
        "resolveWithin": "P3D",
        "requires": [
          "unit",
          "description"
        ]
      }
    ],
    "escalation": [
      {
        "after": "PT4H",
        "to": "site-supervisor"
      },
      {
        "after": "P2D",
        "to": "authority:owners-council"
      }
    ],
    "grantsFace": {
      "compelResponseWithin": "PT4H",
      "creditUpTo": {
        "amount": 50.0,
        "currency": "EUR"
      },
      "dispatch": true
    }
  }
}', '"07ba6ffc5bc1edfd22e73f29cc116a48"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (9, 'condominium', 'Contract', 'guardian-security', 1, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "guardian-security",
    "alliance": "condominium"
  },
  "spec": {
    "partner": "guardian",
    "scope": [
      {
        "where": {
          "category": [
            "security"
          ]
        }
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "security"
          ]
        }
      }
    ],
    "consulted": [
      {
        "partner": "riverside-management",
        "respondWithin": "PT1H"
      }
    ],
    "handoffs": [
      {
        "endpoint": "tickets",
        "mode": "retain",
        "acknowledgeWithin": "PT1H",
        "resolveWithin": "P1D"
      }
    ],
    "escalation": [
      {
        "after": "PT1H",
        "to": "site-supervisor"
      },
      {
        "after": "PT12H",
        "to": "authority:owners-council"
      }
    ],
    "grantsFace": {
      "compelResponseWithin": "PT1H",
      "creditUpTo": {
        "amount": 20.0,
        "currency": "EUR"
      },
      "dispatch": true
    }
  }
}', '"be1413fd401d4e0108d8ecb0bfbd15cf"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (10, 'condominium', 'Contract', 'management', 1, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "management",
    "alliance": "condominium"
  },
  "spec": {
    "partner": "riverside-management",
    "scope": [
      {
        "where": {
          "category": [
            "management",
            "laundry",
            "cleaning",
            "security",
            "maintenance"
          ]
        }
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "management"
          ]
        }
      }
    ],
    "escalation": "contractor"
  }
}', '"5c075a43d131fc917c0041ab9e595fab"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (11, 'condominium', 'Contract', 'management-cleaning-interim', 1, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "management-cleaning-interim",
    "alliance": "condominium"
  },
  "spec": {
    "partner": "riverside-management",
    "effective": {
      "from": "2027-02-01"
    },
    "scope": [
      {
        "where": {
          "category": [
            "cleaning"
          ]
        }
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "cleaning"
          ]
        }
      }
    ],
    "escalation": "contractor"
  }
}', '"0a1fa25450f30b7e4a4850cce2d953f8"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (12, 'condominium', 'Contract', 'sudsy-laundry', 1, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "sudsy-laundry",
    "alliance": "condominium"
  },
  "spec": {
    "partner": "sudsy",
    "effective": {
      "from": "2026-04-01",
      "until": "2029-04-01"
    },
    "deliveryModel": "on-demand",
    "scope": [
      {
        "where": {
          "category": [
            "laundry"
          ],
          "building": [
            "tower-a",
            "tower-b"
          ]
        }
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "laundry"
          ]
        },
        "except": [
          {
            "building": [
              "garage"
            ]
          }
        ]
      }
    ],
    "consulted": [
      {
        "partner": "riverside-management",
        "respondWithin": "PT4H"
      }
    ],
    "handoffs": [
      {
        "endpoint": "mail",
        "mode": "retain",
        "acknowledgeWithin": "PT8H",
        "resolveWithin": "P2D"
      }
    ],
    "escalation": "contractor",
    "grantsFace": {
      "compelResponseWithin": "PT4H",
      "creditUpTo": {
        "amount": 20.0,
        "currency": "EUR"
      },
      "dispatch": true
    }
  }
}', '"fd64d23ab3d24b2cd8f849b2163d57a7"', FALSE, FALSE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (13, 'condominium', 'Waiver', 'ev-chargers-supplier-pending', 1, '{
  "kind": "Waiver",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "ev-chargers-supplier-pending",
    "alliance": "condominium"
  },
  "spec": {
    "rule": "coverage-gap",
    "where": {
      "category": [
        "ev-charger"
      ]
    },
    "reason": "The energy supplier that installed the EV chargers joins the alliance in 2027.",
    "approvedBy": "owners-council",
    "expires": "2027-12-31"
  }
}', '"01f282e31e22959fb2d20289064794ec"', FALSE, FALSE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (14, 'condominium', 'Waiver', 'no-laundry-in-garage', 1, '{
  "kind": "Waiver",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "no-laundry-in-garage",
    "alliance": "condominium"
  },
  "spec": {
    "rule": "coverage-gap",
    "where": {
      "category": [
        "laundry"
      ],
      "building": [
        "garage"
      ]
    },
    "reason": "The garage has no laundry room; such complaints cannot arise.",
    "approvedBy": "owners-council",
    "expires": "2027-12-31"
  }
}', '"9f248155819495989d046c7164fcf649"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (15, 'metro-home', 'Alliance', 'metro-home', 1, '{
  "kind": "Alliance",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "metro-home"
  },
  "spec": {
    "authority": "board",
    "authorities": [
      {
        "name": "board",
        "email": "board@metro.example"
      }
    ],
    "dimensions": {
      "category": {
        "billing": [
          "invoice-error",
          "refund"
        ],
        "connectivity": {
          "internet": [
            "outage",
            "slow-speed"
          ]
        },
        "installation": null
      },
      "region": [
        "north",
        "south"
      ]
    },
    "customerFace": [
      {
        "where": {},
        "partner": "metro"
      }
    ],
    "escalationChains": {
      "standard": [
        {
          "after": "PT4H",
          "to": "duty-manager"
        },
        {
          "after": "P1D",
          "to": "authority:board"
        }
      ]
    }
  }
}', '"6478dafa4cc8e4cc68056a0f68c38148"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (16, 'metro-home', 'Partner', 'fastnet', 1, '{
  "kind": "Partner",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "fastnet",
    "alliance": "metro-home"
  },
  "spec": {
    "legalName": "FastNet Ltd",
    "contacts": [
      {
        "name": "duty-manager",
        "email": "noc@fastnet.example"
      }
    ],
    "endpoints": [
      {
        "name": "tickets",
        "type": "tmf621",
        "address": "https://fastnet.example/tmf"
      }
    ]
  }
}', '"388380a2d626fef025205f04c17367af"', FALSE, FALSE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (17, 'metro-home', 'Partner', 'metro', 1, '{
  "kind": "Partner",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "metro",
    "alliance": "metro-home"
  },
  "spec": {
    "legalName": "Metro Home plc",
    "contacts": [
      {
        "name": "duty-manager",
        "email": "duty@metro.example"
      }
    ]
  }
}', '"be5cdafe713ca3ac993d21472644809f"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (18, 'metro-home', 'Contract', 'fastnet-internet', 1, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "fastnet-internet",
    "alliance": "metro-home"
  },
  "spec": {
    "partner": "fastnet",
    "effective": {
      "from": "2026-01-01",
      "until": "2028-01-01"
    },
    "scope": [
      {
        "where": {
          "category": [
            "connectivity"
          ]
        }
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "internet"
          ]
        }
      }
    ],
    "handoffs": [
      {
        "endpoint": "tickets",
        "mode": "retain",
        "acknowledgeWithin": "PT1H",
        "resolveWithin": "P2D"
      }
    ],
    "escalation": "standard"
  }
}', '"ef27386ce0be439577b90c9df03a1e3b"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (19, 'metro-home', 'Contract', 'metro-rest', 1, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "metro-rest",
    "alliance": "metro-home"
  },
  "spec": {
    "partner": "metro",
    "scope": [
      {
        "where": {}
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "billing",
            "installation"
          ]
        }
      }
    ],
    "escalation": "standard"
  }
}', '"5b202f384240238f6554e2e09f36b71c"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (20, 'metro-home', 'Partner', 'fastnet', 2, '{
  "kind": "Partner",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "fastnet",
    "alliance": "metro-home"
  },
  "spec": {
    "legalName": "FastNet plc",
    "contacts": [
      {
        "name": "duty-manager",
        "email": "noc@fastnet.example"
      }
    ],
    "endpoints": [
      {
        "name": "tickets",
        "type": "tmf621",
        "address": "https://fastnet.example/tmf"
      }
    ]
  }
}', '"65c2cb6632bdc7df867eb6535bfee449"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (21, 'metro-home', 'Partner', 'cablenet', 3, '{
  "kind": "Partner",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "cablenet",
    "alliance": "metro-home"
  },
  "spec": {
    "legalName": "CableNet GmbH",
    "contacts": [
      {
        "name": "duty-manager",
        "email": "noc@cablenet.example"
      }
    ]
  }
}', '"33eb1e02b442273beca34525b2025b62"', FALSE, FALSE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (22, 'metro-home', 'Partner', 'cablenet', 4, NULL, NULL, TRUE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (23, 'condominium', 'Contract', 'sudsy-laundry', 2, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "sudsy-laundry",
    "alliance": "condominium"
  },
  "spec": {
    "partner": "sudsy",
    "effective": {
      "from": "2026-04-01",
      "until": "2029-04-01"
    },
    "deliveryModel": "on-demand",
    "scope": [
      {
        "where": {
          "category": [
            "laundry"
          ],
          "building": [
            "tower-a",
            "tower-b"
          ]
        }
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "laundry"
          ]
        },
        "except": [
          {
            "building": [
              "garage"
            ]
          }
        ]
      }
    ],
    "consulted": [
      {
        "partner": "riverside-management",
        "respondWithin": "PT2H"
      }
    ],
    "handoffs": [
      {
        "endpoint": "mail",
        "mode": "retain",
        "acknowledgeWithin": "PT8H",
        "resolveWithin": "P2D"
      }
    ],
    "escalation": "contractor",
    "grantsFace": {
      "compelResponseWithin": "PT4H",
      "creditUpTo": {
        "amount": 20.0,
        "currency": "EUR"
      },
      "dispatch": true
    }
  }
}', '"e8eb65a3b26dde10aee0c371ecdb3b4c"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (24, 'condominium', 'Contract', 'brightclean-cleaning', 2, '{
  "kind": "Contract",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "brightclean-cleaning",
    "alliance": "condominium"
  },
  "spec": {
    "partner": "brightclean",
    "effective": {
      "from": "2025-02-01",
      "until": "2027-02-01"
    },
    "scope": [
      {
        "where": {
          "category": [
            "cleaning"
          ]
        }
      }
    ],
    "accountable": [
      {
        "where": {
          "category": [
            "cleaning"
          ]
        }
      }
    ],
    "consulted": [
      {
        "partner": "riverside-management",
        "respondWithin": "PT2H"
      }
    ],
    "handoffs": [
      {
        "endpoint": "jobs",
        "mode": "retain",
        "acknowledgeWithin": "PT4H",
        "resolveWithin": "P1D"
      }
    ],
    "escalation": "contractor",
    "grantsFace": {
      "compelResponseWithin": "PT4H",
      "creditUpTo": {
        "amount": 20.0,
        "currency": "EUR"
      },
      "dispatch": true
    }
  }
}', '"28d900cad90c4545ab5a74a9cd74f457"', FALSE, TRUE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (25, 'condominium', 'Waiver', 'ev-chargers-supplier-pending', 2, NULL, NULL, TRUE, FALSE);
INSERT INTO documents (id, alliance, kind, name, revision, body, etag, deleted, current) VALUES (26, 'condominium', 'Waiver', 'ev-chargers-supplier-pending', 3, '{
  "kind": "Waiver",
  "apiVersion": "alliance-registry/v1",
  "metadata": {
    "name": "ev-chargers-supplier-pending",
    "alliance": "condominium"
  },
  "spec": {
    "rule": "coverage-gap",
    "where": {
      "category": [
        "ev-charger"
      ]
    },
    "reason": "The energy supplier that installed the EV chargers joins the alliance in 2027.",
    "approvedBy": "owners-council",
    "expires": "2027-12-31"
  }
}', '"01f282e31e22959fb2d20289064794ec"', FALSE, TRUE);
INSERT INTO changes (seq, alliance, revision, at, actor, action, forced, documents, previous, hash) VALUES (1, 'condominium', 1, '2026-12-02T01:11:49.133+00:00', 'demo seed', 'apply', FALSE, '[{"ref":"Alliance/condominium","before":null,"after":"f69f3a54e6d8ba2580e1190a0cf3ea8d718b3ee0aff5b673b7d58e00da256e1e"},{"ref":"Partner/brightclean","before":null,"after":"6580f8d51289ed8421589354e2195acfca20d29b0fab53cb02816f08984cd9b1"},{"ref":"Partner/fixit","before":null,"after":"212a9da958f91c7bbca71e3e66d1b3c7a5f3130732d0dd2d54b46cdaed60ce4d"},{"ref":"Partner/guardian","before":null,"after":"8676aa08e6ae26a6698a70603213af68cb6b2d10de9400cda50fa2f4c16981c1"},{"ref":"Partner/riverside-management","before":null,"after":"5aae171633f6cec76f2eaff9d06636e6e3b242541eef18be85cfa7b009cc6cc9"},{"ref":"Partner/sudsy","before":null,"after":"815dbebc50014532406e642bc242c7f7de1654f6f623584393306a1cbad89c04"},{"ref":"Contract/brightclean-cleaning","before":null,"after":"46671b208f399a7b53d4cd9a8465d0a1229a3c24d02a4d96acf41084b70955c2"},{"ref":"Contract/fixit-maintenance","before":null,"after":"07ba6ffc5bc1edfd22e73f29cc116a4867c32dbda9c792795d928ef245af56cb"},{"ref":"Contract/guardian-security","before":null,"after":"be1413fd401d4e0108d8ecb0bfbd15cf9946ce23ef944ab3aed3e2e50e7c93e1"},{"ref":"Contract/management","before":null,"after":"5c075a43d131fc917c0041ab9e595fab1d71a08058e683be7977646452cf80b5"},{"ref":"Contract/management-cleaning-interim","before":null,"after":"0a1fa25450f30b7e4a4850cce2d953f8d12ac410a53fb1a995d27182ace1f601"},{"ref":"Contract/sudsy-laundry","before":null,"after":"fd64d23ab3d24b2cd8f849b2163d57a7039822f83800fbab0261fee7f56ce18b"},{"ref":"Waiver/ev-chargers-supplier-pending","before":null,"after":"01f282e31e22959fb2d20289064794ece82676ae3e51a7ee4cac0d82443303f5"},{"ref":"Waiver/no-laundry-in-garage","before":null,"after":"9f248155819495989d046c7164fcf649d06788830d89ddf89727da4071c03e8b"}]', '0000000000000000000000000000000000000000000000000000000000000000', 'e33c92ae11fb910a3d24611ab5499bc692759b0104750cdd13bb97d39215cdfc');
INSERT INTO changes (seq, alliance, revision, at, actor, action, forced, documents, previous, hash) VALUES (2, 'metro-home', 1, '2026-12-02T01:11:49.161+00:00', 'demo seed', 'apply', FALSE, '[{"ref":"Alliance/metro-home","before":null,"after":"6478dafa4cc8e4cc68056a0f68c38148e709fa10c8c0b98dcaedcab5267e34f0"},{"ref":"Partner/fastnet","before":null,"after":"388380a2d626fef025205f04c17367af03147f690970a22529604d783b2babd7"},{"ref":"Partner/metro","before":null,"after":"be5cdafe713ca3ac993d21472644809ff94c27ac2d2ff637a567d7a9df3451b2"},{"ref":"Contract/fastnet-internet","before":null,"after":"ef27386ce0be439577b90c9df03a1e3bf0e4026cc698fd9345549f288c9803e6"},{"ref":"Contract/metro-rest","before":null,"after":"5b202f384240238f6554e2e09f36b71c9db11cb3963197f08bd521e84238ab7a"}]', '0000000000000000000000000000000000000000000000000000000000000000', '4ea8fd832a5c3761a88afa4e7bb1478898ffde47733815c3e2d9fbcea7287c64');
INSERT INTO changes (seq, alliance, revision, at, actor, action, forced, documents, previous, hash) VALUES (3, 'metro-home', 2, '2026-12-02T01:11:49.180+00:00', 'ines (manager)', 'apply', FALSE, '[{"ref":"Partner/fastnet","before":"388380a2d626fef025205f04c17367af03147f690970a22529604d783b2babd7","after":"65c2cb6632bdc7df867eb6535bfee449e4d4b1746b56d5717776346b2a73eff6"}]', '4ea8fd832a5c3761a88afa4e7bb1478898ffde47733815c3e2d9fbcea7287c64', 'e2a8a5bc08b2cbd20dab5e85f450fb75e70ce6a9b5492bd806705cc1b70663f3');
INSERT INTO changes (seq, alliance, revision, at, actor, action, forced, documents, previous, hash) VALUES (4, 'metro-home', 3, '2026-12-02T01:11:49.202+00:00', 'ines (manager)', 'put', FALSE, '[{"ref":"Partner/cablenet","before":null,"after":"33eb1e02b442273beca34525b2025b625c08d172b9334098f205998535de38f2"}]', 'e2a8a5bc08b2cbd20dab5e85f450fb75e70ce6a9b5492bd806705cc1b70663f3', 'cd334abc9b0ed33a182d6d5d8b0a6b4148f80f8b9b08226cb616c613de52b9e7');
INSERT INTO changes (seq, alliance, revision, at, actor, action, forced, documents, previous, hash) VALUES (5, 'metro-home', 4, '2026-12-02T01:11:49.216+00:00', 'ines (manager)', 'delete', FALSE, '[{"ref":"Partner/cablenet","before":"33eb1e02b442273beca34525b2025b625c08d172b9334098f205998535de38f2","after":null}]', 'cd334abc9b0ed33a182d6d5d8b0a6b4148f80f8b9b08226cb616c613de52b9e7', '86721d6edee0cfeb98b25206b4e48ec5eff42ea6f23321abee491cbe64991aba');
INSERT INTO changes (seq, alliance, revision, at, actor, action, forced, documents, previous, hash) VALUES (6, 'condominium', 2, '2026-12-02T01:11:49.261+00:00', 'olga (manager)', 'apply', TRUE, '[{"ref":"Contract/sudsy-laundry","before":"fd64d23ab3d24b2cd8f849b2163d57a7039822f83800fbab0261fee7f56ce18b","after":"e8eb65a3b26dde10aee0c371ecdb3b4c2475d57fee3610125db5d9887a7a1553"},{"ref":"Contract/brightclean-cleaning","before":"46671b208f399a7b53d4cd9a8465d0a1229a3c24d02a4d96acf41084b70955c2","after":"28d900cad90c4545ab5a74a9cd74f457804b24f72b3c015ab5f41330c49443d8"},{"ref":"Waiver/ev-chargers-supplier-pending","before":"01f282e31e22959fb2d20289064794ece82676ae3e51a7ee4cac0d82443303f5","after":null}]', 'e33c92ae11fb910a3d24611ab5499bc692759b0104750cdd13bb97d39215cdfc', '25949f32c48381a59ca6c041162751e88afa35ca5b4025c74ed5e48a5a45d1e7');
INSERT INTO changes (seq, alliance, revision, at, actor, action, forced, documents, previous, hash) VALUES (7, 'condominium', 3, '2026-12-02T01:11:49.275+00:00', 'olga (manager)', 'put', FALSE, '[{"ref":"Waiver/ev-chargers-supplier-pending","before":null,"after":"01f282e31e22959fb2d20289064794ece82676ae3e51a7ee4cac0d82443303f5"}]', '25949f32c48381a59ca6c041162751e88afa35ca5b4025c74ed5e48a5a45d1e7', '8824731b3b7939f18f1823ddb7a65b78d0b0ff0a53a3b1ef9f33382f2e6d1e9b');
INSERT INTO tokens (id, hash, role, alliance, partner, name, created, revoked) VALUES (1, 'f52e2de6ad6415c905b3112fbf98eaeec76586063c6caae35062b45e8f949bba', 'admin', NULL, NULL, 'root', '2026-12-02T01:11:49.280+00:00', NULL);
INSERT INTO tokens (id, hash, role, alliance, partner, name, created, revoked) VALUES (2, 'b2579d067f8db5cc805d37c7dce6b0c5d5dd67f79b0402f4b0b49662f7db99ab', 'auditor', 'metro-home', NULL, 'ines', '2026-12-02T01:11:49.286+00:00', '2026-12-02T01:11:49.300+00:00');
INSERT INTO tokens (id, hash, role, alliance, partner, name, created, revoked) VALUES (3, '72cb0f98b8d651422df4f46cb25b96362a4b34dc153a185275f6a51c0f0980de', 'partner', 'metro-home', 'fastnet', 'fastnet desk', '2026-12-02T01:11:49.293+00:00', NULL);
